using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Endpoints;

/// <summary>
/// The OpenAI fields beyond the basics, on the tiny model: top_logprobs against next-word's distribution, logit_bias,
/// presence and frequency penalties against their definition, best_of, stream_options, max_completion_tokens,
/// GET /v1/models/{id}, and the 400s in OpenAI's shape.
/// </summary>
public class OpenAiCompatibilityTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Echoed_top_logprobs_are_the_most_likely_tokens_at_each_prompt_position_and_the_first_is_null()
    {
        const string prompt = "the cat slept on the mat .";
        var choice = (await Complete(new { model = "tiny", prompt, max_tokens = 0, echo = true, logprobs = 3 })).Choices.Single();
        var lp = choice.Logprobs!;
        Assert.Null(lp.TokenLogprobs[0]);
        Assert.Null(lp.TopLogprobs[0]);
        for (var i = 1; i < lp.Tokens.Count; i++)
        {
            var next = await NextWord(prompt[..lp.TextOffset[i]], 3);
            var top = lp.TopLogprobs[i]!;
            Assert.Equal(next.Words.Select(w => w.Word), top.OrderByDescending(kv => kv.Value).Select(kv => kv.Key));
            foreach (var w in next.Words) Close(w.LogProbability, top[w.Word]);
            Assert.True(top.Values.Max() >= lp.TokenLogprobs[i]!.Value - 1e-9, "the most likely token is at least as likely as the actual one");
        }
    }

    [Fact]
    public async Task Generated_top_logprobs_are_next_words_distribution_after_the_text_so_far()
    {
        const string prompt = "the old dog";
        var choice = (await Complete(new { model = "tiny", prompt, max_tokens = 4, temperature = 0, logprobs = 2, echo = true })).Choices.Single();
        var lp = choice.Logprobs!;
        var first = lp.Tokens.Count - (await Complete(new { model = "tiny", prompt, max_tokens = 4, temperature = 0 })).Usage!.CompletionTokens;
        for (var i = first; i < lp.Tokens.Count; i++)
        {
            var next = await NextWord(choice.Text[..lp.TextOffset[i]], 2);
            var top = lp.TopLogprobs[i]!.ToDictionary(kv => Word(kv.Key), kv => kv.Value);
            Assert.Equal(next.Words.Select(w => w.Word), top.OrderByDescending(kv => kv.Value).Select(kv => kv.Key));
            foreach (var w in next.Words) Close(w.LogProbability, top[w.Word]);
        }
    }

    [Fact]
    public async Task A_logit_bias_of_minus_100_keeps_a_token_out_even_the_greedy_choice()
    {
        const string prompt = "the cat";
        var greedy = (await Complete(new { model = "tiny", prompt, max_tokens = 1, temperature = 0, logprobs = 0 })).Choices.Single();
        var banned = Word(greedy.Logprobs!.Tokens[0]);
        var id = (await Tokenize(new { model = "tiny", prompt = banned })).Tokens.Single();
        var bias = new Dictionary<string, double> { [id.ToString()] = -100 };

        var biased = await Complete(new { model = "tiny", prompt, max_tokens = 8, temperature = 0, logprobs = 0, logit_bias = bias });
        Assert.NotEqual(banned, Word(biased.Choices[0].Logprobs!.Tokens[0]));
        var sampled = await Complete(new { model = "tiny", prompt, max_tokens = 12, temperature = 1.5, n = 4, seed = 9, logprobs = 0, logit_bias = bias });
        var tokens = sampled.Choices.SelectMany(c => c.Logprobs!.Tokens).Select(Word).ToList();
        Assert.True(tokens.Count >= 8, $"only {tokens.Count} tokens sampled");
        Assert.DoesNotContain(banned, tokens);
    }

    [Fact]
    public async Task Presence_and_frequency_penalties_pick_the_argmax_of_the_penalised_distribution_at_every_step()
    {
        var vocabulary = (await Ok<VocabularySize>(await client.GetAsync("/api/models/tiny/vocabulary?limit=1"))).Total;
        var changed = 0;
        var seen = new List<string>();
        // The tiny model ends a line within a few words; with the end of line and "." banned, greedy text runs on and repeats
        // itself, so the penalties have something to change.
        var period = (await Tokenize(new { model = "tiny", prompt = "." })).Tokens.Single();
        var bias = new Dictionary<string, double> { ["1"] = -100, [period.ToString()] = -100 };
        foreach (var (prompt, frequency, presence) in new[] { ("the cat slept in", 0.0, 0.0), ("the cat slept in", 1.5, 0.75), ("the old farmer", -2.0, -1.0) })
        {
            var choice = (await Complete(new
            {
                model = "tiny", prompt, max_tokens = 20, temperature = 0, logprobs = 0, frequency_penalty = frequency, presence_penalty = presence,
                logit_bias = bias,
            })).Choices.Single();
            var lp = choice.Logprobs!;
            seen.Add(prompt + choice.Text);
            var counts = new Dictionary<string, int>();
            for (var i = 0; i < lp.Tokens.Count; i++)
            {
                var next = await NextWord(prompt + choice.Text[..lp.TextOffset[i]], vocabulary);
                double Penalised(ApiWord w) => w.LogProbability - frequency * counts.GetValueOrDefault(w.Word) - (counts.ContainsKey(w.Word) ? presence : 0)
                    - (w.Word is "<eos>" or "." ? 100 : 0);
                var ranked = next.Words.OrderByDescending(Penalised).ToList();
                var actual = Word(lp.Tokens[i]);
                Assert.True(ranked[0].Word == actual || Penalised(ranked[0]) - Penalised(ranked.Single(w => w.Word == actual)) < 1e-5,
                    $"step {i} ({frequency}, {presence}): chose '{actual}', the penalised argmax is '{ranked[0].Word}'");
                if (frequency != 0 && next.Words.First(w => w.Word is not ("<eos>" or ".")).Word != actual) changed++;
                counts[actual] = counts.GetValueOrDefault(actual) + 1;
            }
        }
        Assert.True(changed > 0, $"the penalties never changed the greedy choice (the test would pass without them): {string.Join(" | ", seen)}");
    }

    [Fact]
    public async Task Best_of_returns_the_candidates_with_the_highest_total_logprob()
    {
        var all = await Complete(new { model = "tiny", prompt = "a dog", max_tokens = 6, n = 4, seed = 21, logprobs = 0 });
        var best = await Complete(new { model = "tiny", prompt = "a dog", max_tokens = 6, n = 2, best_of = 4, seed = 21, logprobs = 0 });
        static double Total(CompletionChoice c) => c.Logprobs!.TokenLogprobs.Sum(l => l!.Value);
        var expected = all.Choices.OrderByDescending(Total).Take(2).Select(c => c.Text).ToList();
        Assert.Equal(expected, best.Choices.Select(c => c.Text));
        Assert.Equal([0, 1], best.Choices.Select(c => c.Index));
        Assert.Equal(all.Usage!.CompletionTokens, best.Usage!.CompletionTokens);
    }

    [Fact]
    public async Task Max_completion_tokens_is_max_tokens()
    {
        var a = await Complete(new { model = "tiny", prompt = "the", max_completion_tokens = 3, temperature = 0, stop = "zzz" });
        var b = await Complete(new { model = "tiny", prompt = "the", max_tokens = 3, temperature = 0, stop = "zzz" });
        Assert.Equal(b.Choices[0].Text, a.Choices[0].Text);
        Assert.InRange(a.Usage!.CompletionTokens, 1, 3);
    }

    [Fact]
    public async Task Stream_options_include_usage_adds_a_last_chunk_with_the_usage_of_the_whole_answer()
    {
        var body = new { model = "tiny", prompt = "the cat", max_tokens = 5, seed = 4, n = 2, stream = true, stream_options = new { include_usage = true } };
        var items = await Events(await client.PostAsJsonAsync("/v1/completions", body));
        Assert.Equal("[DONE]", items[^1]);
        using var last = JsonDocument.Parse(items[^2]);
        Assert.Empty(last.RootElement.GetProperty("choices").EnumerateArray());
        var whole = await Complete(new { model = "tiny", prompt = "the cat", max_tokens = 5, seed = 4, n = 2 });
        var usage = last.RootElement.GetProperty("usage");
        Assert.Equal(whole.Usage!.PromptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(whole.Usage.CompletionTokens, usage.GetProperty("completion_tokens").GetInt32());
        Assert.All(items[..^2], i => Assert.False(JsonDocument.Parse(i).RootElement.TryGetProperty("usage", out _)));
    }

    [Fact]
    public async Task Get_model_by_id_answers_the_OpenAI_model_or_404_in_OpenAI_shape()
    {
        var model = await Ok<OpenAiModel>(await client.GetAsync("/v1/models/tiny@1"));
        Assert.Equal("tiny@1", model.Id);
        Assert.Equal("model", model.Object);
        Assert.Equal("tiny", (await Ok<OpenAiModel>(await client.GetAsync("/v1/models/tiny"))).Id);
        var missing = await client.GetAsync("/v1/models/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        Assert.Equal("model_not_found", error.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Tokenize_and_detokenize_round_trip_with_the_ids_logit_bias_takes()
    {
        var tokens = await Tokenize(new { model = "tiny", prompt = "the cat slept .", return_token_strs = true });
        Assert.Equal(["the", "cat", "slept", "."], tokens.TokenStrs);
        Assert.Equal(4, tokens.Count);
        Assert.True(tokens.MaxModelLen >= 4);
        var text = await Ok<DetokenizeResponse>(await client.PostAsJsonAsync("/detokenize", new { model = "tiny", tokens = tokens.Tokens }));
        Assert.Equal("the cat slept .", text.Prompt);
        var eos = await Ok<DetokenizeResponse>(await client.PostAsJsonAsync("/detokenize", new { tokens = new[] { tokens.Tokens[0], 1, tokens.Tokens[1] } }));
        Assert.Equal("the\ncat", eos.Prompt);
        var usage = (await Complete(new { model = "tiny", prompt = "the cat slept .", max_tokens = 1 })).Usage!;
        Assert.Equal(usage.PromptTokens, tokens.Count);
    }

    [Fact]
    public async Task Chat_continues_the_documented_plain_text_rendering_of_the_messages()
    {
        var messages = new object[]
        {
            new { role = "system", content = "the cat slept on the mat ." },
            new { role = "user", content = new[] { new { type = "text", text = "the old" }, new { type = "text", text = "dog" } } },
        };
        var chat = await Ok<ChatCompletionResponse>(await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "tiny", messages, max_tokens = 10, temperature = 0, logprobs = true, top_logprobs = 2 }));
        Assert.Equal("chat.completion", chat.Object);
        var reply = chat.Choices.Single();
        Assert.Equal("assistant", reply.Message.Role);
        // The template: each message's content on its own line(s), roles not written, a final line break.
        const string rendered = "the cat slept on the mat .\nthe old\ndog\n";
        var completion = await Complete(new { model = "tiny", prompt = rendered, max_tokens = 10, temperature = 0 });
        Assert.Equal(completion.Choices[0].Text, reply.Message.Content);
        Assert.Equal(completion.Choices[0].FinishReason, reply.FinishReason);
        Assert.Equal(completion.Usage!.PromptTokens, chat.Usage.PromptTokens);
        Assert.Equal(chat.Usage.CompletionTokens, reply.Logprobs!.Content.Count);
        Assert.All(reply.Logprobs.Content, t => Assert.Equal(2, t.TopLogprobs.Count));
        var tokenized = await Tokenize(new { model = "tiny", messages });
        Assert.Equal(chat.Usage.PromptTokens, tokenized.Count);

        var items = await Events(await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "tiny", messages, max_tokens = 10, temperature = 0, stream = true, stream_options = new { include_usage = true } }));
        Assert.Equal("[DONE]", items[^1]);
        var chunks = items[..^1].Select(i => JsonSerializer.Deserialize<ChatCompletionChunk>(i)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.Object));
        Assert.Equal("assistant", chunks[0].Choices[0].Delta.Role);
        Assert.Equal(reply.Message.Content, string.Concat(chunks.SelectMany(c => c.Choices).Select(c => c.Delta.Content)));
        Assert.Equal(reply.FinishReason, chunks[^2].Choices.Single().FinishReason);
        Assert.Empty(chunks[^1].Choices);
        Assert.Equal(chat.Usage.TotalTokens, chunks[^1].Usage!.TotalTokens);
    }

    [Fact]
    public async Task The_new_operations_document_their_bodies_with_examples()
    {
        using var doc = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        foreach (var path in new[] { "/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize" })
        {
            var body = doc.RootElement.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json");
            Assert.True(body.TryGetProperty("schema", out _), path);
            Assert.Equal(JsonValueKind.Object, body.GetProperty("example").ValueKind);
        }
        Assert.True(doc.RootElement.GetProperty("paths").TryGetProperty("/v1/models/{id}", out _));
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { "/v1/completions", """{"prompt":"the","suffix":"end"}""", "suffix" },
        { "/v1/completions", """{"prompt":"the","n":3,"best_of":2}""", "best_of" },
        { "/v1/completions", """{"prompt":"the","best_of":9}""", "best_of" },
        { "/v1/completions", """{"prompt":"the","best_of":2,"stream":true}""", "best_of" },
        { "/v1/completions", """{"prompt":"the","logit_bias":{"abc":1}}""", "logit_bias" },
        { "/v1/completions", """{"prompt":"the","logit_bias":{"99999":1}}""", "logit_bias" },
        { "/v1/completions", """{"prompt":"the","logit_bias":{"-1":1}}""", "logit_bias" },
        { "/v1/completions", """{"prompt":"the","logit_bias":{"2":150}}""", "logit_bias" },
        { "/v1/completions", """{"prompt":"the","presence_penalty":2.5}""", "presence_penalty" },
        { "/v1/completions", """{"prompt":"the","frequency_penalty":-3}""", "frequency_penalty" },
        { "/v1/completions", """{"prompt":"the","max_tokens":3,"max_completion_tokens":4}""", "max_tokens" },
        { "/v1/completions", """{"prompt":"the","max_completion_tokens":1000}""", "max_completion_tokens" },
        { "/v1/completions", """{"prompt":"the","stream_options":{"include_usage":true}}""", "stream_options" },
        { "/v1/chat/completions", """{"model":"tiny"}""", "messages" },
        { "/v1/chat/completions", """{"messages":[]}""", "messages" },
        { "/v1/chat/completions", """{"messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"the"},{"role":"user"}]}""", "messages[1].content" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content[0]" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"the"}],"top_logprobs":2}""", "top_logprobs" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"the"}],"logprobs":true,"top_logprobs":21}""", "top_logprobs" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"the"}],"max_tokens":0}""", "max_tokens" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"the"}],"logit_bias":{"99999":-100}}""", "logit_bias" },
        { "/tokenize", """{"model":"tiny"}""", "prompt" },
        { "/detokenize", """{"model":"tiny","tokens":[99999]}""", "tokens" },
        { "/detokenize", """{"model":"tiny"}""", "tokens" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_parameters_are_400_in_OpenAI_shape_naming_the_param(string route, string body, string param)
    {
        var response = await client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    private static void Close(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) < 1e-5, $"{actual} differs from next-word's {expected}"); // float32 network, read two ways

    internal static string Word(string token) => token.Length == 0 ? "<eos>" : token.Trim();

    private async Task<CompletionResponse> Complete(object body) => await Ok<CompletionResponse>(await client.PostAsJsonAsync("/v1/completions", body));

    private async Task<TokenizeResponse> Tokenize(object body) => await Ok<TokenizeResponse>(await client.PostAsJsonAsync("/tokenize", body));

    private async Task<ApiNextWord> NextWord(string context, int topK) =>
        await Ok<ApiNextWord>(await client.PostAsJsonAsync("/api/models/tiny/next-word", new { context, topK }));

    internal static async Task<List<string>> Events(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var items = new List<string>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
            items.Add(item.Data);
        return items;
    }

    internal static async Task<T> Ok<T>(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    private sealed record ApiWord(string Word, double Probability, double LogProbability);

    private sealed record ApiNextWord(List<ApiWord> Words);

    private sealed record VocabularySize(int Total);
}
