using System.Net;
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

    private sealed class TightFactory : KeyedFactory
    {
        protected override IReadOnlyDictionary<string, string> Limits => new Dictionary<string, string>
        {
            ["RnnLm:Limits:InferencePerMinute"] = "2",
            ["RnnLm:Limits:SubmissionsPerMinute"] = "2",
        };
    }
}
