using System.Text.Json;
using System.Text.Json.Serialization;

namespace RnnLmService.Api.Contracts;

/// <summary>
/// OpenAI's chat completions request. These models are not chat-tuned: the messages are rendered as plain text,
/// each message's content on its own line(s), roles not written, and the reply is the model's next line
/// (see the README, "Chat").
/// </summary>
public sealed class ChatCompletionRequest : OpenAiSamplingRequest
{
    /// <summary>The conversation, oldest first (1 to 256 messages).</summary>
    [JsonPropertyName("messages")]
    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    /// <summary>Return the log-probability of each token of the reply.</summary>
    /// <example>false</example>
    [JsonPropertyName("logprobs")]
    public bool? Logprobs { get; init; }

    /// <summary>With <c>logprobs</c>: this many most likely tokens at each position, 0 to 20.</summary>
    /// <example>0</example>
    [JsonPropertyName("top_logprobs")]
    public int? TopLogprobs { get; init; }
}

/// <summary>One message of a conversation.</summary>
public sealed class ChatMessage
{
    /// <summary><c>system</c>, <c>developer</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</summary>
    /// <example>user</example>
    [JsonPropertyName("role")]
    public string? Role { get; init; }

    /// <summary>The text: a string, or a list of parts of which only <c>{"type": "text", "text": ...}</c> is accepted (joined by line breaks); null only for an assistant message.</summary>
    /// <example>the old farmer</example>
    [JsonPropertyName("content")]
    public JsonElement? Content { get; init; }

    /// <summary>An optional participant name; accepted and not rendered.</summary>
    /// <example>alice</example>
    [JsonPropertyName("name")]
    public string? Name { get; init; }
}

/// <summary>OpenAI's chat completion.</summary>
public sealed class ChatCompletionResponse
{
    /// <summary>Identifier of the completion.</summary>
    /// <example>chatcmpl-7f3c2a9d0b1e4c57</example>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>Always <c>chat.completion</c>.</summary>
    /// <example>chat.completion</example>
    [JsonPropertyName("object")]
    public string Object { get; init; } = "chat.completion";

    /// <summary>Unix time, seconds.</summary>
    /// <example>1764290000</example>
    [JsonPropertyName("created")]
    public long Created { get; init; }

    /// <summary>The model version that answered, <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    /// <summary>The <c>n</c> replies.</summary>
    [JsonPropertyName("choices")]
    public required IReadOnlyList<ChatChoice> Choices { get; init; }

    /// <summary>Token counts: the rendered conversation and the replies.</summary>
    [JsonPropertyName("usage")]
    public required CompletionUsage Usage { get; init; }
}

/// <summary>One reply.</summary>
public sealed class ChatChoice
{
    /// <summary>0-based index of the choice.</summary>
    /// <example>0</example>
    [JsonPropertyName("index")]
    public int Index { get; init; }

    /// <summary>The reply.</summary>
    [JsonPropertyName("message")]
    public required ChatReply Message { get; init; }

    /// <summary>Log-probabilities of the reply's tokens when <c>logprobs</c> was asked for, else null.</summary>
    [JsonPropertyName("logprobs")]
    public ChatLogprobs? Logprobs { get; init; }

    /// <summary><c>stop</c> (the model ended the line, or a stop string) or <c>length</c> (max_tokens reached).</summary>
    /// <example>stop</example>
    [JsonPropertyName("finish_reason")]
    public required string FinishReason { get; init; }
}

/// <summary>The assistant's message.</summary>
public sealed class ChatReply
{
    /// <summary>Always <c>assistant</c>.</summary>
    /// <example>assistant</example>
    [JsonPropertyName("role")]
    public string Role { get; init; } = "assistant";

    /// <summary>The reply's text.</summary>
    /// <example>the old farmer ran to the house .</example>
    [JsonPropertyName("content")]
    public required string Content { get; init; }
}

/// <summary>A streamed chat chunk (<c>chat.completion.chunk</c>).</summary>
public sealed class ChatCompletionChunk
{
    /// <summary>The same identifier on every chunk of a completion.</summary>
    /// <example>chatcmpl-7f3c2a9d0b1e4c57</example>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>Always <c>chat.completion.chunk</c>.</summary>
    /// <example>chat.completion.chunk</example>
    [JsonPropertyName("object")]
    public string Object { get; init; } = "chat.completion.chunk";

    /// <summary>Unix time, seconds.</summary>
    /// <example>1764290000</example>
    [JsonPropertyName("created")]
    public long Created { get; init; }

    /// <summary>The model version that answers, <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    /// <summary>One choice's delta (none on the usage chunk).</summary>
    [JsonPropertyName("choices")]
    public required IReadOnlyList<ChatChunkChoice> Choices { get; init; }

    /// <summary>Only on the last chunk, with <c>stream_options.include_usage</c>.</summary>
    [JsonPropertyName("usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CompletionUsage? Usage { get; init; }
}

/// <summary>One choice's part of a chunk.</summary>
public sealed class ChatChunkChoice
{
    /// <summary>0-based index of the choice.</summary>
    /// <example>0</example>
    [JsonPropertyName("index")]
    public int Index { get; init; }

    /// <summary>What the chunk adds: the role on a choice's first chunk, then text.</summary>
    [JsonPropertyName("delta")]
    public required ChatDelta Delta { get; init; }

    /// <summary>The added tokens' log-probabilities when asked for.</summary>
    [JsonPropertyName("logprobs")]
    public ChatLogprobs? Logprobs { get; init; }

    /// <summary>Set on a choice's last chunk only: <c>stop</c> or <c>length</c>.</summary>
    /// <example>stop</example>
    [JsonPropertyName("finish_reason")]
    public string? FinishReason { get; init; }
}

/// <summary>A chunk's addition to the reply.</summary>
public sealed class ChatDelta
{
    /// <summary><c>assistant</c> on a choice's first chunk.</summary>
    /// <example>assistant</example>
    [JsonPropertyName("role")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Role { get; init; }

    /// <summary>More text of the reply.</summary>
    /// <example> farmer</example>
    [JsonPropertyName("content")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Content { get; init; }
}

/// <summary>Chat log-probabilities: one entry per token of the reply.</summary>
public sealed class ChatLogprobs
{
    /// <summary>The reply's tokens.</summary>
    [JsonPropertyName("content")]
    public required IReadOnlyList<ChatTokenLogprob> Content { get; init; }
}

/// <summary>A token of the reply with its log-probability and the most likely tokens at its position.</summary>
public sealed class ChatTokenLogprob
{
    /// <summary>The token as it appears in the reply (with its leading space).</summary>
    /// <example> farmer</example>
    [JsonPropertyName("token")]
    public required string Token { get; init; }

    /// <summary>Natural log-probability under the model (before temperature, penalties and bias).</summary>
    /// <example>-1.2</example>
    [JsonPropertyName("logprob")]
    public double Logprob { get; init; }

    /// <summary>The token's UTF-8 bytes.</summary>
    /// <example>[32, 102, 97, 114, 109, 101, 114]</example>
    [JsonPropertyName("bytes")]
    public required IReadOnlyList<int> Bytes { get; init; }

    /// <summary>The <c>top_logprobs</c> most likely tokens here, most likely first.</summary>
    [JsonPropertyName("top_logprobs")]
    public required IReadOnlyList<ChatTopLogprob> TopLogprobs { get; init; }
}

/// <summary>One of the most likely tokens at a position.</summary>
public sealed class ChatTopLogprob
{
    /// <summary>The token, spelled as it would appear in the reply.</summary>
    /// <example> farmer</example>
    [JsonPropertyName("token")]
    public required string Token { get; init; }

    /// <summary>Natural log-probability.</summary>
    /// <example>-1.2</example>
    [JsonPropertyName("logprob")]
    public double Logprob { get; init; }

    /// <summary>The token's UTF-8 bytes.</summary>
    /// <example>[32, 102, 97, 114, 109, 101, 114]</example>
    [JsonPropertyName("bytes")]
    public required IReadOnlyList<int> Bytes { get; init; }
}
