using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Models;
using RnnLmService.Api.Serving;
using RnnLmService.Api.Tests.Endpoints;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Tests.Serving;

public class LimitedFactory : TinyModelFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(base.Settings)
    {
        ["RnnLm:Serving:MaxLiveStreams"] = "2",
        ["RnnLm:Serving:StateCacheBytes"] = "1000000",
    };
}

/// <summary>Surprisal fields of /score, live-stream and keep-alive limits, and the state-cache metrics, over HTTP.</summary>
public class ServingLimitsTests(LimitedFactory factory) : IClassFixture<LimitedFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Score_reports_surprisal_rank_entropy_alternatives_and_vocabulary_membership_as_computed_directly()
    {
        const string text = "the old cat zyzzyva slept in the garden .";
        var response = await client.PostJsonAsync("/api/models/tiny/score", new { text, topK = 3 });
        var raw = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(raw);
        var first = doc.RootElement.GetProperty("tokens")[0];
        foreach (var name in new[] { "token", "logProbability", "surprisalBits", "rank", "entropyBits", "alternatives", "inVocabulary" })
            Assert.True(first.TryGetProperty(name, out _), $"{name} missing: {first}");
        var body = JsonSerializer.Deserialize<ScoreResponse>(raw, JsonSerializerOptions.Web)!;

        // Directly: the next-word distribution (all words) after each prefix, from the engine's public API.
        using var model = LanguageModel.Load(TinyModel.Directory);
        var tokens = model.TokensOf(text);
        Assert.Equal(tokens, body.Tokens.Select(t => t.Token));
        for (var i = 1; i < tokens.Count; i++)
        {
            var dist = model.NextWord(new NextWordQuery(string.Join(' ', tokens.Take(i)), TopK: model.Vocabulary.Count));
            var word = model.Vocabulary.Contains(tokens[i]) ? tokens[i] : "<unk>";
            var lp = dist.Top.Single(w => w.Word == word).LogProbability;
            var scored = body.Tokens[i];
            Assert.Equal(lp, scored.LogProbability, 1e-5);
            Assert.Equal(-lp / Math.Log(2), scored.SurprisalBits, 1e-5);
            Assert.Equal(1 + dist.Top.Count(w => w.LogProbability > lp), scored.Rank);
            Assert.Equal(dist.Entropy / Math.Log(2), scored.EntropyBits, 1e-5);
            Assert.Equal(dist.Top.Take(3).Select(w => w.Word), scored.Alternatives.Select(a => a.Word));
            Assert.Equal(dist.Top[0].Probability, scored.Alternatives[0].Probability, 1e-5);
            Assert.Equal(tokens[i] != "zyzzyva", scored.InVocabulary);
        }

        var plain = await InferenceApiTests.Ok<ScoreResponse>(await client.PostJsonAsync("/api/models/tiny/score", new { text }));
        Assert.All(plain.Tokens, t => Assert.Empty(t.Alternatives));
    }

    [Theory]
    [InlineData("score", """{"text":"the cat","topK":-1}""", "topK")]
    [InlineData("score", """{"text":"the cat","topK":100000}""", "topK")]
    [InlineData("score", """{"text":"the cat","keepAlive":"soon"}""", "keepAlive")]
    [InlineData("next-word", """{"context":"the cat","keepAlive":true}""", "keepAlive")]
    [InlineData("generate", """{"prompt":"the cat","keepAlive":"5 minutes"}""", "keepAlive")]
    public async Task Bad_topk_or_keep_alive_is_a_400_naming_the_field(string endpoint, string body, string field) =>
        await InferenceApiTests.AssertProblem(await client.PostRawAsync($"/api/models/tiny/{endpoint}", body), HttpStatusCode.BadRequest, field);

    [Fact]
    public async Task Live_streams_beyond_MaxLiveStreams_get_429_with_retry_after_until_one_ends()
    {
        var registry = factory.Services.GetRequiredService<ModelRegistry>();
        using var lease = await registry.AcquireAsync("tiny");
        var options = new GenerationOptions { MaxTokens = 4, Temperature = 0 };
        var held = new List<StreamHandle<GenerationStep>> { lease.Model.StartGeneration("the cat", options), lease.Model.StartGeneration("the dog", options) };
        var limit = factory.Services.GetRequiredService<LiveStreamLimit>();
        Assert.Equal(2, limit.Live);

        var refused = await client.PostJsonAsync("/api/models/tiny/generate", new { prompt = "the old cat", maxTokens = 3 });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);

        held[0].Dispose();                                          // its reader let go: the slot is free
        // ignoreEos: a sampled end of line would end the completion early (it is a finish reason, not a token).
        var body = await InferenceApiTests.Ok<GenerateResponse>(await client.PostJsonAsync("/api/models/tiny/generate", new { prompt = "the old cat", maxTokens = 3, ignoreEos = true }));
        Assert.Equal(3, body.Completions[0].Tokens.Count);
        Assert.Equal(1, limit.Live);                                // the finished request gave its slot back
        held[1].Dispose();
        Assert.Equal(0, limit.Live);
    }

    [Fact]
    public async Task Contexts_extending_a_read_one_hit_the_state_cache_with_the_same_answer_and_the_metrics_show_it()
    {
        const string context = "the old dog saw a bright";
        var cold = await InferenceApiTests.Ok<NextWordResponse>(await client.PostJsonAsync("/api/models/tiny/next-word", new { context = context + " ball", topK = 5 }));
        await client.PostJsonAsync("/api/models/tiny/next-word", new { context, topK = 5 });
        var warm = await InferenceApiTests.Ok<NextWordResponse>(await client.PostJsonAsync("/api/models/tiny/next-word", new { context = context + " ball", topK = 5 }));
        Assert.Equal(cold.Words.Select(w => w.Word), warm.Words.Select(w => w.Word));
        foreach (var (a, b) in cold.Words.Zip(warm.Words)) Assert.Equal(a.LogProbability, b.LogProbability, 1e-5);

        var metrics = await client.GetStringAsync("/metrics");
        foreach (var name in new[] { "rnnlm_state_cache_hits", "rnnlm_state_cache_misses", "rnnlm_state_cache_bytes" })
            Assert.Matches($@"(?m)^{name}[a-z_]*\{{[^}}]*model=""tiny@1""[^}}]*\}} [1-9]", metrics);
    }

    [Fact]
    public async Task Metrics_split_the_memory_into_the_C_heap_and_the_GC_heap()
    {
        await InferenceApiTests.Ok<NextWordResponse>(await client.PostJsonAsync("/api/models/tiny/next-word", new { context = "the old dog", topK = 5 }));
        var metrics = await client.GetStringAsync("/metrics");
        double Gauge(string name) =>
            double.Parse(System.Text.RegularExpressions.Regex.Match(metrics, $@"(?m)^rnnlm_memory_{name} ([0-9.eE+-]+)$").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var (heap, inUse, free) = (Gauge("native_heap"), Gauge("native_in_use"), Gauge("native_free"));
        Assert.True(inUse > 1 << 20, $"native_in_use {inUse}: a loaded model's tensors are in the C heap");
        Assert.InRange(heap - inUse - free, -(1 << 20), 1 << 20); // glibc's heap is what is in use plus what is free (between two reads)
        Assert.True(Gauge("gc_heap") > 0 && Gauge("gc_committed") >= Gauge("gc_heap"), metrics);
    }
}
