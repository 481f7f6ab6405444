using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Endpoints;

public class OpenAiApiTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Models_lists_names_and_versions()
    {
        var list = await Ok<OpenAiModelList>(await client.GetAsync("/v1/models"));
        Assert.Equal("list", list.Object);
        Assert.Contains(list.Data, m => m.Id == "tiny");
        Assert.Contains(list.Data, m => m.Id == "tiny@1");
        Assert.All(list.Data, m => Assert.Equal("model", m.Object));
    }

    [Fact]
    public async Task Completions_answer_in_OpenAI_shape_with_usage_and_logprobs()
    {
        var response = await Ok<CompletionResponse>(await Post("""
            {"model":"tiny","prompt":"the cat","max_tokens":5,"temperature":0.7,"top_p":0.9,"seed":3,"logprobs":2,"n":2,"frequency_penalty":0,"user":"ignored"}
            """));
        Assert.StartsWith("cmpl-", response.Id);
        Assert.Equal("text_completion", response.Object);
        Assert.Equal("tiny@1", response.Model);
        Assert.Equal(2, response.Choices.Count);
        foreach (var choice in response.Choices)
        {
            Assert.Contains(choice.FinishReason, new[] { "length", "stop" });
            var lp = choice.Logprobs!;
            Assert.Equal(choice.Text, string.Concat(lp.Tokens));
            Assert.Equal(lp.Tokens.Count, lp.TokenLogprobs.Count);
            Assert.All(lp.TopLogprobs, top => Assert.InRange(top!.Count, 1, 2));
            Assert.Equal(0, lp.TextOffset[0]);
        }
        Assert.Equal(2, response.Usage!.PromptTokens);
        Assert.Equal(response.Usage.PromptTokens + response.Usage.CompletionTokens, response.Usage.TotalTokens);
    }

    [Fact]
    public async Task A_list_of_prompts_gives_n_choices_each_and_no_model_means_the_default()
    {
        var response = await Ok<CompletionResponse>(await Post("""{"prompt":["the cat","a dog"],"max_tokens":2,"n":2,"stop":"\n"}"""));
        Assert.Equal([0, 1, 2, 3], response.Choices.Select(c => c.Index));
        Assert.Equal("tiny@1", response.Model);
    }

    [Fact]
    public async Task Echo_with_zero_max_tokens_and_logprobs_scores_the_prompt_like_score()
    {
        var response = await Ok<CompletionResponse>(await Post("""{"model":"tiny","prompt":"the cat slept .","max_tokens":0,"echo":true,"logprobs":1}"""));
        var choice = Assert.Single(response.Choices);
        Assert.Equal("the cat slept .", choice.Text);
        Assert.Equal("length", choice.FinishReason);
        var score = await InferenceApiTests.Ok<ScoreResponse>(await client.PostJsonAsync("/api/models/tiny/score", new { text = "the cat slept ." }));
        Assert.Equal(score.Tokens.Select(t => t.Token), choice.Logprobs!.Tokens);
        Assert.Equal(score.Tokens.Skip(1).Select(t => (double?)t.LogProbability), choice.Logprobs.TokenLogprobs.Skip(1));
        Assert.Null(choice.Logprobs.TokenLogprobs[0]); // as OpenAI: the first prompt token has no log-probability
        Assert.Equal([0, 4, 8, 14], choice.Logprobs.TextOffset);
        Assert.Equal(0, response.Usage!.CompletionTokens);
    }

    [Fact]
    public async Task Streaming_sends_data_chunks_and_ends_with_DONE()
    {
        using var response = await client.PostAsync("/v1/completions", Json("""{"model":"tiny","prompt":"the cat","max_tokens":4,"stream":true,"seed":1,"echo":true}"""));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
            items.Add(item);
        Assert.Equal("[DONE]", items[^1].Data);
        var chunks = items[..^1].Select(i => JsonSerializer.Deserialize<CompletionResponse>(i.Data)!).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.Object));
        Assert.Equal("the cat", chunks[0].Choices[0].Text);
        Assert.NotNull(chunks[^1].Choices[0].FinishReason);
        Assert.All(chunks[..^1], c => Assert.Null(c.Choices[0].FinishReason));

        var whole = await Ok<CompletionResponse>(await Post("""{"model":"tiny","prompt":"the cat","max_tokens":4,"seed":1,"echo":true}"""));
        Assert.Equal(whole.Choices[0].Text, string.Concat(chunks.Select(c => c.Choices[0].Text)));
    }

    public static TheoryData<string, int, string?> BadRequests => new()
    {
        { """{"max_tokens":3}""", 400, "prompt" },
        { """{"prompt":[]}""", 400, "prompt" },
        { """{"prompt":""}""", 400, "prompt" },
        { """{"prompt":5}""", 400, "prompt" },
        { """{"prompt":"the","max_tokens":-1}""", 400, "max_tokens" },
        { """{"prompt":"the","max_tokens":1000}""", 400, "max_tokens" },
        { """{"prompt":"the","max_tokens":"many"}""", 400, "max_tokens" },
        { """{"prompt":"the","temperature":-0.5}""", 400, "temperature" },
        { """{"prompt":"the","top_p":0}""", 400, "top_p" },
        { """{"prompt":"the","n":9}""", 400, "n" },
        { """{"prompt":"the","logprobs":6}""", 400, "logprobs" },
        { """{"prompt":"the","stop":["a","b","c","d","e"]}""", 400, "stop" },
        { """{"prompt":"the","model":"nope"}""", 404, "model" },
        { """{"prompt":"the","model":"tiny@7"}""", 404, "model" },
        { """{"prompt":"the",""", 400, null },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Errors_use_the_OpenAI_shape_with_param_naming_the_field(string body, int status, string? param)
    {
        var response = await Post(body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (param is not null) Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.True(error.TryGetProperty("code", out _));
    }

    [Fact]
    public async Task Unknown_v1_routes_answer_404_in_the_OpenAI_shape()
    {
        var response = await client.GetAsync("/v1/engines");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(doc.RootElement.TryGetProperty("error", out _));
    }

    private Task<HttpResponseMessage> Post(string json) => client.PostAsync("/v1/completions", Json(json));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<T> Ok<T>(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text)!;
    }
}
