using System.Text.Json;
using System.Text.Json.Serialization;

namespace RnnLmService.Api.Contracts;

/// <summary>
/// The sampling fields OpenAI's completions and chat completions share (the subset this service honours; fields not
/// listed here are ignored, as OpenAI's own server ignores <c>user</c>).
/// </summary>
public abstract class OpenAiSamplingRequest
{
    /// <summary>Model as <c>name</c> or <c>name@version</c>; omit for the default model.</summary>
    /// <example>starter</example>
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    /// <summary>Most tokens to generate, 0 to <c>RnnLm:Serving:MaxNewTokens</c> (0 with <c>echo</c> and <c>logprobs</c> scores the prompt).</summary>
    /// <example>16</example>
    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; init; }

    /// <summary>The same as <c>max_tokens</c> (OpenAI's newer name); sending both with different values is a 400.</summary>
    /// <example>16</example>
    [JsonPropertyName("max_completion_tokens")]
    public int? MaxCompletionTokens { get; init; }

    /// <summary>Sampling temperature, 0 to 2.</summary>
    /// <example>1</example>
    [JsonPropertyName("temperature")]
    public double? Temperature { get; init; }

    /// <summary>Nucleus sampling mass, in (0, 1].</summary>
    /// <example>1</example>
    [JsonPropertyName("top_p")]
    public double? TopP { get; init; }

    /// <summary>Choices per prompt, 1 to <c>RnnLm:Serving:MaxCompletions</c>.</summary>
    /// <example>1</example>
    [JsonPropertyName("n")]
    public int? N { get; init; }

    /// <summary>Up to 4 strings that end a choice (not included in its text): a string or a list.</summary>
    /// <example>["\n"]</example>
    [JsonPropertyName("stop")]
    public StringOrList? Stop { get; init; }

    /// <summary>Random seed for reproducible sampling (choice i uses seed + i).</summary>
    /// <example>42</example>
    [JsonPropertyName("seed")]
    public long? Seed { get; init; }

    /// <summary>Stream <c>data:</c> chunks as Server-Sent Events, ending with <c>data: [DONE]</c>.</summary>
    /// <example>false</example>
    [JsonPropertyName("stream")]
    public bool? Stream { get; init; }

    /// <summary>Streaming options (only with <c>stream</c>): <c>include_usage</c> adds a last chunk with no choices and the usage.</summary>
    [JsonPropertyName("stream_options")]
    public StreamOptions? StreamOptions { get; init; }

    /// <summary>
    /// Token id (as a string, see <c>POST /tokenize</c>) → bias in [-100, 100] added to its logit at every step; -100 bans a
    /// token, 100 all but forces it. Ids must be the model's (0 to vocabulary size - 1).
    /// </summary>
    /// <example>{"1": -100}</example>
    [JsonPropertyName("logit_bias")]
    public Dictionary<string, double>? LogitBias { get; init; }

    /// <summary>In [-2, 2]: subtracted once from the logit of every token this choice has already generated.</summary>
    /// <example>0</example>
    [JsonPropertyName("presence_penalty")]
    public double? PresencePenalty { get; init; }

    /// <summary>In [-2, 2]: subtracted from a token's logit for each time this choice has already generated it.</summary>
    /// <example>0</example>
    [JsonPropertyName("frequency_penalty")]
    public double? FrequencyPenalty { get; init; }

    /// <summary>An end-user identifier; accepted and ignored.</summary>
    /// <example>user-1234</example>
    [JsonPropertyName("user")]
    public string? User { get; init; }
}

/// <summary>OpenAI's <c>stream_options</c>.</summary>
public sealed class StreamOptions
{
    /// <summary>Send one more chunk before <c>[DONE]</c>: no choices, and the request's usage.</summary>
    /// <example>true</example>
    [JsonPropertyName("include_usage")]
    public bool? IncludeUsage { get; init; }
}

/// <summary>OpenAI's legacy completions request.</summary>
public sealed class CompletionRequest : OpenAiSamplingRequest
{
    /// <summary>The prompt: a string, or a list of strings (one set of choices each).</summary>
    /// <example>once upon a time</example>
    [JsonPropertyName("prompt")]
    public StringOrList? Prompt { get; init; }

    /// <summary>Include the log-probabilities of the tokens and this many most likely tokens at each position, 0 to 5.</summary>
    /// <example>2</example>
    [JsonPropertyName("logprobs")]
    public int? Logprobs { get; init; }

    /// <summary>Put the prompt in front of the generated text (and its tokens in <c>logprobs</c>).</summary>
    /// <example>false</example>
    [JsonPropertyName("echo")]
    public bool? Echo { get; init; }

    /// <summary>Generate this many choices per prompt (n to <c>RnnLm:Serving:MaxCompletions</c>) and return the n with the highest total log-probability; not with <c>stream</c>.</summary>
    /// <example>1</example>
    [JsonPropertyName("best_of")]
    public int? BestOf { get; init; }

    /// <summary>Not supported (these models only continue text): any non-empty value is a 400; leave it out.</summary>
    /// <example>""</example>
    [JsonPropertyName("suffix")]
    public string? Suffix { get; init; }
}

/// <summary>A JSON value that may be a string or a list of strings.</summary>
[JsonConverter(typeof(StringOrListConverter))]
public sealed class StringOrList(IReadOnlyList<string> values)
{
    /// <summary>The strings (one for a plain string).</summary>
    public IReadOnlyList<string> Values { get; } = values;
}

internal sealed class StringOrListConverter : JsonConverter<StringOrList>
{
    public override StringOrList? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return new StringOrList([reader.GetString()!]);
            case JsonTokenType.StartArray:
                var values = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String)
                        throw new JsonException("Expected a string or a list of strings.");
                    values.Add(reader.GetString()!);
                }
                return new StringOrList(values);
            default:
                throw new JsonException("Expected a string or a list of strings.");
        }
    }

    public override void Write(Utf8JsonWriter writer, StringOrList value, JsonSerializerOptions options)
    {
        if (value.Values.Count == 1)
        {
            writer.WriteStringValue(value.Values[0]);
            return;
        }
        writer.WriteStartArray();
        foreach (var v in value.Values) writer.WriteStringValue(v);
        writer.WriteEndArray();
    }
}

/// <summary>OpenAI's completion response (also each streamed chunk).</summary>
public sealed class CompletionResponse
{
    /// <summary>Identifier of the completion.</summary>
    /// <example>cmpl-7f3c2a9d0b1e4c57</example>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>Always <c>text_completion</c>.</summary>
    /// <example>text_completion</example>
    [JsonPropertyName("object")]
    public string Object { get; init; } = "text_completion";

    /// <summary>Unix time, seconds.</summary>
    /// <example>1764290000</example>
    [JsonPropertyName("created")]
    public long Created { get; init; }

    /// <summary>The model version that answered, <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    /// <summary>The choices: <c>n</c> per prompt, prompt after prompt.</summary>
    [JsonPropertyName("choices")]
    public required IReadOnlyList<CompletionChoice> Choices { get; init; }

    /// <summary>Token counts (absent on streamed chunks, except the last one with <c>stream_options.include_usage</c>).</summary>
    [JsonPropertyName("usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CompletionUsage? Usage { get; init; }
}

/// <summary>One choice.</summary>
public sealed class CompletionChoice
{
    /// <summary>The text (the prompt first when <c>echo</c>).</summary>
    /// <example> there was a small cat</example>
    [JsonPropertyName("text")]
    public required string Text { get; init; }

    /// <summary>0-based index of the choice.</summary>
    /// <example>0</example>
    [JsonPropertyName("index")]
    public int Index { get; init; }

    /// <summary>Token log-probabilities when <c>logprobs</c> was requested, else null.</summary>
    [JsonPropertyName("logprobs")]
    public CompletionLogprobs? Logprobs { get; init; }

    /// <summary><c>length</c> or <c>stop</c> (the model's end of text counts as <c>stop</c>); null on streamed chunks before the last.</summary>
    /// <example>length</example>
    [JsonPropertyName("finish_reason")]
    public string? FinishReason { get; init; }
}

/// <summary>OpenAI's legacy logprobs object: parallel lists, one entry per token.</summary>
public sealed class CompletionLogprobs
{
    /// <summary>The tokens.</summary>
    /// <example>[" there", " was"]</example>
    [JsonPropertyName("tokens")]
    public required IReadOnlyList<string> Tokens { get; init; }

    /// <summary>Each token's natural log-probability (null for the first token of an echoed prompt, as OpenAI answers).</summary>
    /// <example>[-1.2, -0.4]</example>
    [JsonPropertyName("token_logprobs")]
    public required IReadOnlyList<double?> TokenLogprobs { get; init; }

    /// <summary>Per token, the <c>logprobs</c> most likely tokens at that position and their log-probabilities (null for the first token of an echoed prompt).</summary>
    /// <example>[{" there": -1.2, " the": -1.9}, {" was": -0.4, " lived": -2.0}]</example>
    [JsonPropertyName("top_logprobs")]
    public required IReadOnlyList<IReadOnlyDictionary<string, double>?> TopLogprobs { get; init; }

    /// <summary>Character offset of each token in the choice's text.</summary>
    /// <example>[0, 6]</example>
    [JsonPropertyName("text_offset")]
    public required IReadOnlyList<int> TextOffset { get; init; }
}

/// <summary>Token counts, OpenAI style.</summary>
public sealed class CompletionUsage
{
    /// <summary>Tokens in the prompts.</summary>
    /// <example>4</example>
    [JsonPropertyName("prompt_tokens")]
    public int PromptTokens { get; init; }

    /// <summary>Tokens generated.</summary>
    /// <example>16</example>
    [JsonPropertyName("completion_tokens")]
    public int CompletionTokens { get; init; }

    /// <summary>Sum of both.</summary>
    /// <example>20</example>
    [JsonPropertyName("total_tokens")]
    public int TotalTokens { get; init; }
}

/// <summary>OpenAI's model list.</summary>
public sealed class OpenAiModelList
{
    /// <summary>Always <c>list</c>.</summary>
    /// <example>list</example>
    [JsonPropertyName("object")]
    public string Object { get; init; } = "list";

    /// <summary>Every addressable model: each name and each <c>name@version</c>.</summary>
    [JsonPropertyName("data")]
    public required IReadOnlyList<OpenAiModel> Data { get; init; }
}

/// <summary>One model, OpenAI style.</summary>
public sealed class OpenAiModel
{
    /// <summary>The id to send as <c>model</c>.</summary>
    /// <example>starter@1</example>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>Always <c>model</c>.</summary>
    /// <example>model</example>
    [JsonPropertyName("object")]
    public string Object { get; init; } = "model";

    /// <summary>Unix time the version was created, seconds.</summary>
    /// <example>1764290000</example>
    [JsonPropertyName("created")]
    public long Created { get; init; }

    /// <summary>Always <c>rnnlm-service</c>.</summary>
    /// <example>rnnlm-service</example>
    [JsonPropertyName("owned_by")]
    public string OwnedBy { get; init; } = "rnnlm-service";
}
