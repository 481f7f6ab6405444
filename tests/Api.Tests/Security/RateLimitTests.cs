using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Security;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Submissions_beyond_the_limit_get_429_with_Retry_After_per_key()
    {
        using var factory = new TightFactory();
        using var trainer = factory.ClientWith(KeyedFactory.TrainKey);
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.BadRequest, (await trainer.PostRawAsync("/api/training-jobs", "{}")).StatusCode);

        var refused = await trainer.PostRawAsync("/api/training-jobs", "{}");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(int.TryParse(refused.Headers.GetValues("Retry-After").Single(), out var seconds) && seconds is >= 1 and <= 60, $"Retry-After {seconds}");
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("rate_limited", problem.RootElement.GetProperty("code").GetString());
        Assert.Contains("SubmissionsPerMinute", problem.RootElement.GetProperty("detail").GetString());

        // Another key has its own allowance; dataset uploads share the submission allowance of a key.
        using var boss = factory.ClientWith(KeyedFactory.AdminKey);
        Assert.Equal(HttpStatusCode.BadRequest, (await boss.PostRawAsync("/api/training-jobs", "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await trainer.PostRawAsync("/api/datasets", "{}")).StatusCode);
    }

    [Fact]
    public async Task Inference_beyond_the_limit_gets_429_in_OpenAI_shape_on_v1()
    {
        using var factory = new TightFactory();
        using var reader = factory.ClientWith(KeyedFactory.ReadKey);
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/v1/models")).StatusCode);
        var refused = await reader.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotEmpty(refused.Headers.GetValues("Retry-After"));
        using var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        var error = body.RootElement.GetProperty("error");
        Assert.Equal(("rate_limit_error", "rate_limited"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        // Listing is not inference: /api/models is not counted.
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/models")).StatusCode);
    }

    [Fact]
    public async Task Queued_jobs_beyond_the_per_key_bound_get_429_and_other_keys_still_queue()
    {
        using var factory = new QueueBoundFactory(); // no worker: jobs stay queued
        using var trainer = factory.ClientWith(KeyedFactory.TrainKey);
        using var boss = factory.ClientWith(KeyedFactory.AdminKey);
        var dataset = (await Api.UploadTextAsync(trainer, Api.Cycle(40, 2))).GetProperty("id").GetString()!;
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await trainer.PostJsonAsync("/api/training-jobs", Api.Job(dataset, $"mine-{i}"))).StatusCode);

        var refused = await trainer.PostJsonAsync("/api/training-jobs", Api.Job(dataset, "mine-2"));
        var problem = await Api.AssertProblemAsync(refused, 429);
        Assert.Equal("too_many_queued_jobs", problem.GetProperty("code").GetString());
        Assert.Contains("QueuedJobsPerKey", problem.GetProperty("detail").GetString());
        Assert.NotEmpty(refused.Headers.GetValues("Retry-After"));

        Assert.Equal(HttpStatusCode.Accepted, (await boss.PostJsonAsync("/api/training-jobs", Api.Job(dataset, "theirs"))).StatusCode);
        // Cancelling one of its jobs gives the key room again.
        var queued = (await trainer.GetFromJsonAsync<JsonElement>("/api/training-jobs?status=queued")).GetProperty("items").EnumerateArray()
            .First(j => j.GetProperty("modelName").GetString() == "mine-0").GetProperty("id").GetString();
        (await trainer.PostAsync($"/api/training-jobs/{queued}/cancel", null)).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.Accepted, (await trainer.PostJsonAsync("/api/training-jobs", Api.Job(dataset, "mine-2"))).StatusCode);
    }

    private sealed class QueueBoundFactory : KeyedFactory
    {
        protected override IReadOnlyDictionary<string, string> Limits => new Dictionary<string, string>
        {
            ["RnnLm:Limits:InferencePerMinute"] = "0",
            ["RnnLm:Limits:SubmissionsPerMinute"] = "0",
            ["RnnLm:Limits:QueuedJobsPerKey"] = "2",
        };
    }

    private sealed class TightFactory : KeyedFactory
    {
        protected override IReadOnlyDictionary<string, string> Limits => new Dictionary<string, string>
        {
            ["RnnLm:Limits:InferencePerMinute"] = "2",
            ["RnnLm:Limits:SubmissionsPerMinute"] = "2",
        };
    }
}
