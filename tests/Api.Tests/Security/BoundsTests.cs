using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Security;

/// <summary>Concurrency limits per key, length bounds on what clients send, one model-name rule, key configuration checked at start.</summary>
public sealed class BoundsTests
{
    [Fact]
    public async Task A_second_event_stream_of_a_key_beyond_EventStreams_gets_429_while_the_first_stays_open()
    {
        using var factory = new OneStreamFactory();
        using var trainer = factory.ClientWith(KeyedFactory.TrainKey);
        var dataset = await Api.UploadTextAsync(trainer, Api.Cycle(60, 1));
        var queued = await trainer.PostAsJsonAsync("/api/training-jobs", Api.Job(dataset.GetProperty("id").GetString()!, "streamed"));
        var job = (await queued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        using var sse = new HttpRequestMessage(HttpMethod.Get, $"/api/training-jobs/{job}/events");
        sse.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var open = await trainer.SendAsync(sse, HttpCompletionOption.ResponseHeadersRead); // the job stays queued: the stream stays open
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);

        using var second = new HttpRequestMessage(HttpMethod.Get, $"/api/training-jobs/{job}/events");
        second.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var refused = await trainer.SendAsync(second);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotEmpty(refused.Headers.GetValues("Retry-After"));
        Assert.Contains("EventStreams", await refused.Content.ReadAsStringAsync());

        // The JSON form of the route is a plain read; another key has its own streams.
        Assert.Equal(HttpStatusCode.OK, (await trainer.GetAsync($"/api/training-jobs/{job}/events")).StatusCode);
        using var boss = factory.ClientWith(KeyedFactory.AdminKey);
        using var third = new HttpRequestMessage(HttpMethod.Get, $"/api/training-jobs/{job}/events");
        third.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var other = await boss.SendAsync(third, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task An_upload_name_or_file_name_over_its_bound_is_a_400_naming_it()
    {
        using var factory = new KeyedFactory();
        using var trainer = factory.ClientWith(KeyedFactory.TrainKey);
        var corpus = Encoding.UTF8.GetBytes(Api.Cycle(60, 2));

        using var longName = new MultipartFormDataContent { { new StringContent(new string('n', 100_000)), "name" }, { new ByteArrayContent(corpus), "file", "c.txt" } };
        var named = await trainer.PostAsync("/api/datasets", longName);
        await Api.AssertProblemAsync(named, 400, "name");

        using var longFile = new MultipartFormDataContent { { new ByteArrayContent(corpus), "file", new string('f', 300) + ".txt" } };
        var filed = await trainer.PostAsync("/api/datasets", longFile);
        Assert.Equal(HttpStatusCode.BadRequest, filed.StatusCode);
        Assert.Contains("255", await filed.Content.ReadAsStringAsync());

        using var ok = new MultipartFormDataContent { { new StringContent("fine"), "name" }, { new ByteArrayContent(corpus), "file", "c.txt" } };
        Assert.Equal(HttpStatusCode.Created, (await trainer.PostAsync("/api/datasets", ok)).StatusCode);
    }

    [Theory]
    [InlineData("/api/models/Upper")]
    [InlineData("/api/models/has%20space")]
    public async Task A_model_name_breaking_the_one_rule_is_a_400_wherever_it_is_written(string url)
    {
        using var factory = new KeyedFactory();
        using var reader = factory.ClientWith(KeyedFactory.ReadKey);
        var problem = await Api.AssertProblemAsync(await reader.GetAsync(url), 400, "name");
        Assert.Contains("1 to 64 characters", problem.GetProperty("detail").GetString());

        using var trainer = factory.ClientWith(KeyedFactory.TrainKey);
        var job = await trainer.PostAsJsonAsync("/api/training-jobs", new { datasetId = "x", modelName = "Upper" });
        var jobProblem = await Api.AssertProblemAsync(job, 400, "modelName");
        Assert.Contains("1 to 64 characters", jobProblem.GetProperty("detail").GetString());
    }

    [Fact]
    public void Bad_key_configuration_stops_the_host_naming_each_key()
    {
        using var factory = new BadKeysFactory();
        var error = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateClient());
        Assert.Contains("RnnLm:Auth:Keys:0:Role", error.Message);
        Assert.Contains("RnnLm:Auth:Keys:1:Key must be 16", error.Message);
        Assert.Contains("RnnLm:Auth:Keys:2:KeySha256", error.Message);
        Assert.DoesNotContain("short", error.Message); // the key itself is not echoed
    }

    private sealed class OneStreamFactory : KeyedFactory
    {
        protected override IReadOnlyDictionary<string, string> Limits => new Dictionary<string, string> { ["RnnLm:Limits:EventStreams"] = "1" };
    }

    private sealed class BadKeysFactory : ApiFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["RnnLm:Auth:Keys:0:Name"] = "a", ["RnnLm:Auth:Keys:0:Key"] = "0123456789abcdef0", ["RnnLm:Auth:Keys:0:Role"] = "root",
            ["RnnLm:Auth:Keys:1:Name"] = "b", ["RnnLm:Auth:Keys:1:Key"] = "short", ["RnnLm:Auth:Keys:1:Role"] = "read",
            ["RnnLm:Auth:Keys:2:Name"] = "c", ["RnnLm:Auth:Keys:2:KeySha256"] = "xyz", ["RnnLm:Auth:Keys:2:Role"] = "read",
        };
    }
}
