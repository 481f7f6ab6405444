using System.Net;
using System.Text.Json;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Hosting;

public class OperationsTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    [Fact]
    public async Task A_given_correlation_id_is_echoed_and_a_missing_one_is_generated()
    {
        using var client = factory.CreateClient();
        using var given = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        given.Headers.Add("X-Correlation-Id", "test-1234");
        var response = await client.SendAsync(given);
        Assert.Equal("test-1234", Assert.Single(response.Headers.GetValues("X-Correlation-Id")));

        var generated = await client.GetAsync("/health/live");
        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(generated.Headers.GetValues("X-Correlation-Id")));
    }

    [Fact]
    public async Task Problem_details_carry_the_correlation_id()
    {
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/models/nope/score") { Content = JsonContent("""{"text":"the cat"}""") };
        request.Headers.Add("X-Correlation-Id", "corr-42");
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("corr-42", body.RootElement.GetProperty("correlationId").GetString());
        Assert.Equal("corr-42", Assert.Single(response.Headers.GetValues("X-Correlation-Id")));
    }

    [Fact]
    public async Task Liveness_and_readiness_answer_when_the_default_model_is_loaded()
    {
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await client.GetAsync("/health/ready");
        var text = await ready.Content.ReadAsStringAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains("default-model", text);
        Assert.Contains("store", text);
    }

    [Fact]
    public async Task Metrics_expose_request_counts_latencies_and_the_serving_instruments()
    {
        using var client = factory.CreateClient();
        (await client.PostAsync("/api/models/tiny/next-word", JsonContent("""{"context":"the cat","topK":3}"""))).EnsureSuccessStatusCode();
        (await client.PostAsync("/api/models/tiny/generate", JsonContent("""{"prompt":"the cat","maxTokens":3}"""))).EnsureSuccessStatusCode();

        var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("http_requests_received_total", text);
        Assert.Contains("http_request_duration_seconds_bucket", text);
        Assert.Contains("endpoint=\"/api/models/{model}/next-word\"", text);
        Assert.Contains("rnnlm_inference_batch_size_bucket", text);
        Assert.Contains("rnnlm_inference_queue_depth", text);
        Assert.Contains("rnnlm_generated_tokens", text);
        Assert.Contains("rnnlm_models_loaded", text);
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}

public class EmptyStoreTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task With_no_model_inference_answers_503_with_retry_after_and_readiness_is_not_ready()
    {
        using var client = factory.CreateClient();
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);

        // A named model that no job will produce is missing (404); the default model, not there yet, is not ready (503).
        var response = await client.PostRawAsync("/api/models/starter/next-word", """{"context":"the cat"}""");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);

        var openAi = await client.PostRawAsync("/v1/completions", """{"prompt":"the cat"}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, openAi.StatusCode);
        Assert.NotNull(openAi.Headers.RetryAfter);
        using var body = JsonDocument.Parse(await openAi.Content.ReadAsStringAsync());
        Assert.Equal("model_not_ready", body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }
}
