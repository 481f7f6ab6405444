using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Endpoints;

public class InferenceApiTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Next_word_returns_top_words_candidates_entropy_and_unknown_context_words()
    {
        var response = await client.PostJsonAsync("/api/models/tiny/next-word",
            new { context = "the quick cat zyzzyva", topK = 5, candidates = new[] { "slept", "notaword" } });
        var body = await Ok<NextWordResponse>(response);

        Assert.Equal("tiny@1", body.Model);
        Assert.Equal(5, body.Words.Count);
        Assert.True(body.Words.Zip(body.Words.Skip(1)).All(p => p.First.Probability >= p.Second.Probability));
        Assert.All(body.Words, w => Assert.Equal(Math.Log(w.Probability), w.LogProbability, 1e-6));
        Assert.Equal(["slept", "notaword"], body.Candidates.Select(c => c.Word));
        Assert.True(body.Candidates[0].Known);
        Assert.False(body.Candidates[1].Known);
        Assert.True(body.Entropy > 0);
        Assert.Contains("zyzzyva", body.UnknownContextWords);
        Assert.Contains("quick", body.UnknownContextWords);
    }

    [Fact]
    public async Task Name_at_version_addresses_one_version()
    {
        var response = await client.PostJsonAsync("/api/models/tiny@1/next-word", new { context = "the cat" });
        Assert.Equal("tiny@1", (await Ok<NextWordResponse>(response)).Model);
    }

    [Fact]
    public async Task Score_returns_per_token_log_probabilities_total_and_perplexity()
    {
        var body = await Ok<ScoreResponse>(await client.PostJsonAsync("/api/models/tiny/score", new { text = "the cat slept in the garden ." }));
        Assert.Equal(["the", "cat", "slept", "in", "the", "garden", "."], body.Tokens.Select(t => t.Token));
        Assert.All(body.Tokens, t => Assert.True(t.LogProbability < 0));
        Assert.Equal(body.Tokens.Sum(t => t.LogProbability), body.TotalLogProbability, 1e-6);
        Assert.Equal(Math.Exp(-body.TotalLogProbability / body.Tokens.Count), body.Perplexity, 1e-6);
    }

    [Fact]
    public async Task Generate_returns_n_completions_with_tokens_and_finish_reasons_and_a_seed_repeats()
    {
        var request = new { prompt = "once upon a time", maxTokens = 6, n = 3, seed = 11, temperature = 0.9, topK = 20, topP = 0.95, repetitionPenalty = 1.1 };
        var first = await Ok<GenerateResponse>(await client.PostJsonAsync("/api/models/tiny/generate", request));
        var again = await Ok<GenerateResponse>(await client.PostJsonAsync("/api/models/tiny/generate", request));

        Assert.Equal(3, first.Completions.Count);
        Assert.Equal([0, 1, 2], first.Completions.Select(c => c.Index));
        foreach (var c in first.Completions)
        {
            Assert.InRange(c.Tokens.Count, 1, 6);
            Assert.Equal(c.Text, string.Concat(c.Tokens.Select(t => t.Text)));
            Assert.Contains(c.FinishReason, new[] { "length", "stop", "end_of_line" });
            if (c.FinishReason == "length") Assert.Equal(6, c.Tokens.Count);
        }
        Assert.Equal(first.Completions.Select(c => c.Text), again.Completions.Select(c => c.Text));
        Assert.Equal(4, first.Usage.PromptTokens);
        Assert.Equal(first.Completions.Sum(c => c.Tokens.Count), first.Usage.CompletionTokens);
    }

    [Fact]
    public async Task Generate_stops_before_a_stop_string_and_ignoreEos_runs_to_maxTokens()
    {
        var stopped = await Ok<GenerateResponse>(await client.PostJsonAsync("/api/models/tiny/generate",
            new { prompt = "the cat", maxTokens = 40, temperature = 0, stop = new[] { " the" }, ignoreEos = true }));
        var c = Assert.Single(stopped.Completions);
        Assert.DoesNotContain(" the", c.Text);

        var greedy = await Ok<GenerateResponse>(await client.PostJsonAsync("/api/models/tiny/generate",
            new { prompt = "the cat", maxTokens = 25, temperature = 0, ignoreEos = true }));
        Assert.Equal("length", greedy.Completions[0].FinishReason);
        Assert.Equal(25, greedy.Completions[0].Tokens.Count);
        if (c.FinishReason == "stop")
            Assert.StartsWith(c.Text, greedy.Completions[0].Text);
    }

    public static TheoryData<string, string, string> BadInputs => new()
    {
        // endpoint, body, field named in the problem
        { "next-word", """{"topK":3}""", "context" },
        { "next-word", """{"context":"   "}""", "context" },
        { "next-word", """{"context":"the cat","topK":0}""", "topK" },
        { "next-word", """{"context":"the cat","topK":-2}""", "topK" },
        { "next-word", """{"context":"the cat","topK":100000}""", "topK" },
        { "next-word", """{"context":"the cat","topK":"five"}""", "topK" },
        { "next-word", """{"context":"the cat","candidates":[""]}""", "candidates" },
        { "next-word", $$"""{"context":"{{new string('a', 2001)}}"}""", "context" },
        { "generate", """{"maxTokens":5}""", "prompt" },
        { "generate", """{"prompt":""}""", "prompt" },
        { "generate", """{"prompt":"the","temperature":-1}""", "temperature" },
        { "generate", """{"prompt":"the","temperature":"NaN"}""", "temperature" },
        { "generate", """{"prompt":"the","topP":0}""", "topP" },
        { "generate", """{"prompt":"the","topP":1.5}""", "topP" },
        { "generate", """{"prompt":"the","topK":0}""", "topK" },
        { "generate", """{"prompt":"the","topK":100000}""", "topK" },
        { "generate", """{"prompt":"the","maxTokens":0}""", "maxTokens" },
        { "generate", """{"prompt":"the","maxTokens":65}""", "maxTokens" },
        { "generate", """{"prompt":"the","n":0}""", "n" },
        { "generate", """{"prompt":"the","n":5}""", "n" },
        { "generate", """{"prompt":"the","repetitionPenalty":0.5}""", "repetitionPenalty" },
        { "generate", """{"prompt":"the","stop":"."}""", "stop" },
        { "score", """{"text":""}""", "text" },
        { "score", """{"text":12}""", "text" },
        { "score", "{\"text\":\"the cat", "body" },   // broken syntax: the body, at its line and column
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_is_a_400_problem_naming_the_field(string endpoint, string body, string field)
    {
        var response = await client.PostRawAsync($"/api/models/tiny/{endpoint}", body);
        await AssertProblem(response, HttpStatusCode.BadRequest, field);
    }

    [Theory]
    [InlineData("nope", HttpStatusCode.NotFound)]
    [InlineData("tiny@99", HttpStatusCode.NotFound)]
    [InlineData("tiny@zero", HttpStatusCode.BadRequest)]
    [InlineData("tiny@0", HttpStatusCode.BadRequest)]
    public async Task Unknown_or_malformed_models_name_the_model_field(string model, HttpStatusCode status)
    {
        var response = await client.PostJsonAsync($"/api/models/{model}/next-word", new { context = "the cat" });
        await AssertProblem(response, status, "model");
    }

    [Fact]
    public async Task A_model_whose_files_are_broken_is_422_not_500()
    {
        var record = await factory.AddModelAsync("broken");
        var weights = Directory.GetFiles(Path.Combine(factory.DataDirectory, record.ArtifactPath), "weights*").Single();
        File.WriteAllBytes(weights, [1, 2, 3]);
        var response = await client.PostJsonAsync("/api/models/broken/next-word", new { context = "the cat" });
        await AssertProblem(response, HttpStatusCode.UnprocessableEntity, "model");
    }

    [Fact]
    public async Task Unknown_fields_are_400s_naming_each_of_them()
    {
        // Issue 15: a misspelt field is an error, not silently a default.
        var response = await client.PostRawAsync("/api/models/tiny/next-word", """{"context":"the cat","topK":2,"user":"x","extra":{"a":[1]}}""");
        await AssertProblem(response, HttpStatusCode.BadRequest, "user");
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.Equal(["extra", "user"], errors.EnumerateObject().Select(p => p.Name).Order());
    }

    internal static async Task<T> Ok<T>(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, JsonSerializerOptions.Web)!;
    }

    internal static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal((int)status, doc.RootElement.GetProperty("status").GetInt32());
        Assert.True(doc.RootElement.GetProperty("errors").TryGetProperty(field, out var reasons), text);
        Assert.False(string.IsNullOrWhiteSpace(reasons[0].GetString()));
    }
}
