using System.Text.Json.Serialization;

namespace RnnLmService.Api.Contracts;

/// <summary>vLLM's tokenize request: a <c>prompt</c>, or chat <c>messages</c> rendered as <c>/v1/chat/completions</c> renders them.</summary>
public sealed class TokenizeRequest
{
    /// <summary>Model as <c>name</c> or <c>name@version</c>; omit for the default model.</summary>
    /// <example>starter</example>
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    /// <summary>The text (give this or <c>messages</c>).</summary>
    /// <example>the old farmer ran home .</example>
    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    /// <summary>A conversation, rendered as the chat endpoint renders it (give this or <c>prompt</c>).</summary>
    [JsonPropertyName("messages")]
    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    /// <summary>Accepted for vLLM compatibility; these models add no special tokens (a text starts at a line start).</summary>
    /// <example>true</example>
    [JsonPropertyName("add_special_tokens")]
    public bool? AddSpecialTokens { get; init; }

    /// <summary>Also return each token's string.</summary>
    /// <example>true</example>
    [JsonPropertyName("return_token_strs")]
    public bool? ReturnTokenStrs { get; init; }
}

/// <summary>vLLM's tokenize answer.</summary>
public sealed class TokenizeResponse
{
    /// <summary>How many tokens (what <c>usage.prompt_tokens</c> counts for the same text).</summary>
    /// <example>6</example>
    [JsonPropertyName("count")]
    public int Count { get; init; }

    /// <summary>An RNN has no context window: the most tokens a prompt can have here (<c>RnnLm:Serving:MaxPromptCharacters</c>, a token being at least one character).</summary>
    /// <example>8000</example>
    [JsonPropertyName("max_model_len")]
    public int MaxModelLen { get; init; }

    /// <summary>The token ids (unknown words as the id of &lt;unk&gt;, 0; each line break as &lt;eos&gt;, 1).</summary>
    /// <example>[2, 14, 37, 9, 51, 4]</example>
    [JsonPropertyName("tokens")]
    public required IReadOnlyList<int> Tokens { get; init; }

    /// <summary>With <c>return_token_strs</c>: each token as the vocabulary spells it (unknown words as themselves).</summary>
    /// <example>["the", "old", "farmer", "ran", "home", "."]</example>
    [JsonPropertyName("token_strs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? TokenStrs { get; init; }
}

/// <summary>vLLM's detokenize request.</summary>
public sealed class DetokenizeRequest
{
    /// <summary>Model as <c>name</c> or <c>name@version</c>; omit for the default model.</summary>
    /// <example>starter</example>
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    /// <summary>Token ids of the model (0 to vocabulary size - 1).</summary>
    /// <example>[2, 14, 37]</example>
    [JsonPropertyName("tokens")]
    public IReadOnlyList<long>? Tokens { get; init; }
}

/// <summary>vLLM's detokenize answer.</summary>
public sealed class DetokenizeResponse
{
    /// <summary>The text: word-level tokens joined by spaces, characters joined as they are; &lt;eos&gt; as a line break.</summary>
    /// <example>the old farmer</example>
    [JsonPropertyName("prompt")]
    public required string Prompt { get; init; }
}
