using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Models;
using RnnLmService.Api.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace RnnLmService.Api.Tests.Endpoints;

public class StreamingTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Generate_streams_token_events_and_a_final_done_event_equal_to_the_json_answer()
    {
        var body = new { prompt = "the old cat", maxTokens = 8, seed = 5, n = 2, stream = true };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/models/tiny/generate") { Content = Json(body) };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);

        var events = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
            events.Add(item);

        Assert.Equal("done", events[^1].EventType);
        var tokens = events[..^1].Select(e => { Assert.Equal("token", e.EventType); return JsonSerializer.Deserialize<GenerateTokenEvent>(e.Data, JsonSerializerOptions.Web)!; }).ToList();
        var done = JsonSerializer.Deserialize<GenerateResponse>(events[^1].Data, JsonSerializerOptions.Web)!;
        for (var i = 0; i < 2; i++)
        {
            var mine = tokens.Where(t => t.Index == i).ToList();
            Assert.Equal(done.Completions[i].Text, string.Concat(mine.Select(t => t.Text)));
            // A completion the model ends at a line end has no closing token (the end-of-line token is no text): done says so.
            if (done.Completions[i].FinishReason == "end_of_line") Assert.All(mine, t => Assert.Null(t.FinishReason));
            else Assert.NotNull(mine[^1].FinishReason);
            Assert.All(mine[..^1], t => Assert.Null(t.FinishReason));
        }

        var plain = await InferenceApiTests.Ok<GenerateResponse>(await client.PostJsonAsync("/api/models/tiny/generate", body with { stream = false }));
        Assert.Equal(plain.Completions.Select(c => c.Text), done.Completions.Select(c => c.Text));
    }

    [Fact]
    public async Task Accept_text_event_stream_also_streams()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/models/tiny/generate") { Content = Json(new { prompt = "the dog", maxTokens = 3 }) };
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await client.SendAsync(request);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("event: done", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_client_that_disconnects_stops_the_generation()
    {
        using var longRuns = new LongGenerationFactory();
        await longRuns.InitializeAsync();
        using var client = longRuns.CreateClient();
        using var lease = await longRuns.Services.GetRequiredService<ModelRegistry>().AcquireAsync("tiny");
        var model = lease.Model;
        var body = new { prompt = "the cat", maxTokens = 100000, ignoreEos = true, stream = true, n = 1 };

        using (var cts = new CancellationTokenSource())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/models/tiny/generate") { Content = Json(body) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var read = 0;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var _ in SseParser.Create(await response.Content.ReadAsStreamAsync(cts.Token)).EnumerateAsync(cts.Token))
                    if (++read == 2) cts.Cancel();
            });
            Assert.True(read >= 2);
        }

        // 100000 tokens take far longer than this: the stream must be dropped because the client left.
        for (var i = 0; i < 300 && model.LiveStreams > 0; i++) await Task.Delay(10);
        Assert.Equal(0, model.LiveStreams);
    }

    private sealed class LongGenerationFactory : TinyModelFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["RnnLm:Serving:MaxNewTokens"] = "100000" };
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
}
