using System.Text.Json.Serialization;

namespace RnnLmService.Api.Contracts;

/// <summary>Asks for the most likely next words after a context.</summary>
public sealed class NextWordRequest
{
    /// <summary>The text so far; the model predicts what follows it. Required, at most <c>RnnLm:Serving:MaxPromptCharacters</c> characters.</summary>
    /// <example>the quick brown fox jumps over the</example>
    public string? Context { get; init; }

    /// <summary>How many of the most likely words to return, 1 to the vocabulary size.</summary>
    /// <example>5</example>
    public int TopK { get; init; } = 10;

    /// <summary>Optional words whose probabilities you want whatever their rank (words unknown to the vocabulary are reported as such).</summary>
    /// <example>["lazy", "sleepy"]</example>
    public IReadOnlyList<string>? Candidates { get; init; }

    /// <summary>
    /// How long the model version stays loaded after this request, as Ollama's <c>keep_alive</c>: a duration such as
    /// <c>"10m"</c>, <c>"1h30m"</c> or <c>"45s"</c>, or a number of seconds; 0 unloads it when this request is done,
    /// a negative value keeps it until unloaded. Omitted: <c>RnnLm:Serving:KeepAlive</c> (5 minutes).
    /// </summary>
    /// <example>"10m"</example>
    public System.Text.Json.JsonElement? KeepAlive { get; init; }
}

/// <summary>The next-word distribution after a context.</summary>
public sealed class NextWordResponse
{
    /// <summary>The model version that answered, as <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    public required string Model { get; init; }

    /// <summary>The <c>topK</c> most likely next words, most likely first.</summary>
    public required IReadOnlyList<WordProbability> Words { get; init; }

    /// <summary>The requested candidate words, in request order.</summary>
    public required IReadOnlyList<CandidateProbability> Candidates { get; init; }

    /// <summary>Entropy of the whole next-word distribution, in nats.</summary>
    /// <example>4.21</example>
    public double Entropy { get; init; }

    /// <summary>Context words the vocabulary does not know (they were read as the unknown token).</summary>
    /// <example>["zyzzyva"]</example>
    public required IReadOnlyList<string> UnknownContextWords { get; init; }

    /// <summary>How the words were made: <c>token</c> (each is one vocabulary token), or for a BPE model <c>greedy-word</c>: each top
    /// token extended with the most probable next tokens to a word boundary, given as the text it appends (a leading space when it
    /// starts a new word) with that path's probability, a lower bound of the word's; candidates are priced exactly over their tokens.</summary>
    /// <example>token</example>
    public string Completion { get; init; } = "token";
}

/// <summary>A word with its probability.</summary>
public sealed class WordProbability
{
    /// <summary>The word (token).</summary>
    /// <example>lazy</example>
    public required string Word { get; init; }

    /// <summary>Probability, 0 to 1.</summary>
    /// <example>0.31</example>
    public double Probability { get; init; }

    /// <summary>Natural logarithm of the probability.</summary>
    /// <example>-1.171</example>
    public double LogProbability { get; init; }
}

/// <summary>A requested candidate word with its probability.</summary>
public sealed class CandidateProbability
{
    /// <summary>The candidate as requested.</summary>
    /// <example>sleepy</example>
    public required string Word { get; init; }

    /// <summary>False when the vocabulary does not contain the word; its probability is then that of the unknown token.</summary>
    /// <example>true</example>
    public bool Known { get; init; }

    /// <summary>Probability, 0 to 1.</summary>
    /// <example>0.02</example>
    public double Probability { get; init; }

    /// <summary>Natural logarithm of the probability.</summary>
    /// <example>-3.912</example>
    public double LogProbability { get; init; }
}

/// <summary>Asks the model to continue a prompt.</summary>
public sealed class GenerateRequest
{
    /// <summary>The text to continue. Required, at most <c>RnnLm:Serving:MaxPromptCharacters</c> characters.</summary>
    /// <example>once upon a time</example>
    public string? Prompt { get; init; }

    /// <summary>Most tokens to generate per completion, 1 to <c>RnnLm:Serving:MaxNewTokens</c>.</summary>
    /// <example>20</example>
    public int MaxTokens { get; init; } = 50;

    /// <summary>Sampling temperature, 0 (always the most likely token) to 100.</summary>
    /// <example>0.8</example>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Sample only from the k most likely tokens (1 to the vocabulary size); omit for no limit.</summary>
    /// <example>40</example>
    public int? TopK { get; init; }

    /// <summary>Nucleus sampling: sample from the smallest set of tokens whose probabilities sum to topP, in (0, 1].</summary>
    /// <example>0.95</example>
    public double TopP { get; init; } = 1.0;

    /// <summary>Divides the logits of tokens already seen (above 1 discourages repetition), 1 (off) to 10.</summary>
    /// <example>1.1</example>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Random seed; the same seed and inputs give the same text. Omit for a random one.</summary>
    /// <example>42</example>
    public int? Seed { get; init; }

    /// <summary>Generation stops before any of these strings (not included in the text).</summary>
    /// <example>["."]</example>
    public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>How many independent completions, 1 to <c>RnnLm:Serving:MaxCompletions</c>.</summary>
    /// <example>1</example>
    public int N { get; init; } = 1;

    /// <summary>Keep generating past the end-of-line token (only maxTokens and stop strings end the text).</summary>
    /// <example>false</example>
    public bool IgnoreEos { get; init; }

    /// <summary>Stream tokens as Server-Sent Events (also when the request sends <c>Accept: text/event-stream</c>).</summary>
    /// <example>false</example>
    public bool Stream { get; init; }

    /// <summary>
    /// How long the model version stays loaded after this request, as Ollama's <c>keep_alive</c>: a duration such as
    /// <c>"10m"</c>, <c>"1h30m"</c> or <c>"45s"</c>, or a number of seconds; 0 unloads it when this request is done,
    /// a negative value keeps it until unloaded. Omitted: <c>RnnLm:Serving:KeepAlive</c> (5 minutes).
    /// </summary>
    /// <example>"10m"</example>
    public System.Text.Json.JsonElement? KeepAlive { get; init; }
}

/// <summary>Generated completions.</summary>
public sealed class GenerateResponse
{
    /// <summary>The model version that answered, as <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    public required string Model { get; init; }

    /// <summary>One entry per requested completion.</summary>
    public required IReadOnlyList<GeneratedCompletion> Completions { get; init; }

    /// <summary>Tokens in the prompt and generated.</summary>
    public required TokenUsage Usage { get; init; }
}

/// <summary>One completion.</summary>
public sealed class GeneratedCompletion
{
    /// <summary>0-based index among the request's completions.</summary>
    /// <example>0</example>
    public int Index { get; init; }

    /// <summary>The generated text (without the prompt).</summary>
    /// <example> there was a small cat</example>
    public required string Text { get; init; }

    /// <summary>The generated tokens with their log-probabilities.</summary>
    public required IReadOnlyList<GeneratedToken> Tokens { get; init; }

    /// <summary>Why it ended: <c>length</c> (maxTokens reached), <c>stop</c> (a stop string appeared; it is not part of the text) or <c>end_of_line</c> (the model produced the end-of-line token, which is not part of the text; ignoreEos goes on past it).</summary>
    /// <example>length</example>
    public required string FinishReason { get; init; }
}

/// <summary>One generated token.</summary>
public sealed class GeneratedToken
{
    /// <summary>The token's text as it appears in the output.</summary>
    /// <example> cat</example>
    public required string Text { get; init; }

    /// <summary>Natural log of the probability the model gave this token (before temperature and filtering).</summary>
    /// <example>-2.3</example>
    public double LogProbability { get; init; }
}

/// <summary>Token counts.</summary>
public sealed class TokenUsage
{
    /// <summary>Tokens in the prompt.</summary>
    /// <example>4</example>
    public int PromptTokens { get; init; }

    /// <summary>Tokens generated over all completions.</summary>
    /// <example>20</example>
    public int CompletionTokens { get; init; }
}

/// <summary>One Server-Sent Event of a streamed generation (<c>event: token</c>).</summary>
public sealed class GenerateTokenEvent
{
    /// <summary>Which completion the token belongs to.</summary>
    /// <example>0</example>
    public int Index { get; init; }

    /// <summary>The token's text.</summary>
    /// <example> cat</example>
    public required string Text { get; init; }

    /// <summary>Natural log of its probability.</summary>
    /// <example>-2.3</example>
    public double LogProbability { get; init; }

    /// <summary>Set on the completion's last token: <c>length</c> or <c>stop</c>; null before. A completion the model ends at a line end has no closing token event: the done event's finishReason is <c>end_of_line</c>.</summary>
    /// <example>length</example>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

/// <summary>Asks for the log-probability of each token of a text.</summary>
public sealed class ScoreRequest
{
    /// <summary>The text to score. Required, at most <c>RnnLm:Serving:MaxPromptCharacters</c> characters.</summary>
    /// <example>the cat sat on the mat</example>
    public string? Text { get; init; }

    /// <summary>How many of the most likely tokens to report at each position as <c>alternatives</c>, 0 (none, the default) to the vocabulary size.</summary>
    /// <example>3</example>
    public int TopK { get; init; }

    /// <summary>
    /// How long the model version stays loaded after this request, as Ollama's <c>keep_alive</c>: a duration such as
    /// <c>"10m"</c>, <c>"1h30m"</c> or <c>"45s"</c>, or a number of seconds; 0 unloads it when this request is done,
    /// a negative value keeps it until unloaded. Omitted: <c>RnnLm:Serving:KeepAlive</c> (5 minutes).
    /// </summary>
    /// <example>"10m"</example>
    public System.Text.Json.JsonElement? KeepAlive { get; init; }
}

/// <summary>How likely the model finds a text.</summary>
public sealed class ScoreResponse
{
    /// <summary>The model version that answered, as <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    public required string Model { get; init; }

    /// <summary>Each scored token with the log-probability of it given the tokens before it.</summary>
    public required IReadOnlyList<ScoredToken> Tokens { get; init; }

    /// <summary>Sum of the tokens' log-probabilities.</summary>
    /// <example>-18.2</example>
    public double TotalLogProbability { get; init; }

    /// <summary>exp(-total / token count).</summary>
    /// <example>20.7</example>
    public double Perplexity { get; init; }
}

/// <summary>One scored token.</summary>
public sealed class ScoredToken
{
    /// <summary>The token.</summary>
    /// <example>cat</example>
    public required string Token { get; init; }

    /// <summary>Natural log of its probability given what precedes it.</summary>
    /// <example>-3.1</example>
    public double LogProbability { get; init; }

    /// <summary>Its surprisal, −log2 p, in bits.</summary>
    /// <example>4.47</example>
    public double SurprisalBits { get; init; }

    /// <summary>1-based rank of the token in the model's prediction at this position (1: it was the most likely).</summary>
    /// <example>3</example>
    public int Rank { get; init; }

    /// <summary>Entropy of the model's prediction at this position, in bits.</summary>
    /// <example>6.2</example>
    public double EntropyBits { get; init; }

    /// <summary>The <c>topK</c> most likely tokens at this position, most likely first (empty when topK is 0).</summary>
    public required IReadOnlyList<WordProbability> Alternatives { get; init; }

    /// <summary>False when the text's token is not in the vocabulary and was read (and priced) as the unknown token.</summary>
    /// <example>true</example>
    public bool InVocabulary { get; init; }
}
