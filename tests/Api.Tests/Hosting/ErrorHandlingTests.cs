using System.Net;
using System.Text;
using System.Text.Json;
using RnnLmService.Api.Tests.Endpoints;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Hosting;

public class ErrorHandlingTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Malformed_json_is_a_400_problem()
    {
        var response = await client.PostRawAsync("/api/models/tiny/next-word", "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_json", doc.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_missing_body_is_a_400_problem()
    {
        var response = await client.PostAsync("/api/models/tiny/next-word", new StringContent("", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task A_body_above_the_limit_is_413_in_both_shapes()
    {
        var big = JsonSerializer.Serialize(new { context = new string('a', 5000) });     // limit here: 4096 bytes
        var problem = await client.PostRawAsync("/api/models/tiny/next-word", big);
        await InferenceApiTests.AssertProblem(problem, HttpStatusCode.RequestEntityTooLarge, "body");

        var openAi = await client.PostRawAsync("/v1/completions", JsonSerializer.Serialize(new { prompt = new string('a', 5000) }));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, openAi.StatusCode);
        using var doc = JsonDocument.Parse(await openAi.Content.ReadAsStringAsync());
        Assert.Equal("body_too_large", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Unknown_routes_are_404_problems()
    {
        var response = await client.GetAsync("/api/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}

public class QueueFullFactory : TinyModelFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["RnnLm:Serving:QueueCapacity"] = "1",
        ["RnnLm:Serving:MaxBatchSize"] = "1",
        ["RnnLm:Serving:MaxBatchWait"] = "00:00:00",
    };
}

public class QueueFullTests(QueueFullFactory factory) : IClassFixture<QueueFullFactory>
{
    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after_and_never_500()
    {
        using var client = factory.CreateClient();
        var context = string.Join(' ', Enumerable.Repeat("the old cat saw a bright ball in the garden", 150));
        var responses = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() =>
            client.PostJsonAsync("/api/models/tiny/next-word", new { context, topK = 3 }))));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, r => Assert.True(r.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1)));
        Assert.Equal("application/problem+json", refused[0].Content.Headers.ContentType!.MediaType);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
    }
}
