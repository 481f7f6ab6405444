namespace RnnLmService.Core.Inference;

/// <summary>A next-word question: the words so far, how many answers, and words to price.</summary>
/// <param name="Context">Text before the next word (may span lines).</param>
/// <param name="TopK">How many of the most probable next tokens to return (1..vocabulary size).</param>
/// <param name="Candidates">Optional words whose probability is wanted whatever their rank.</param>
public sealed record NextWordQuery(string Context, int TopK = 10, IReadOnlyList<string>? Candidates = null);

/// <summary>A candidate word of a next-word query and the vocabulary id it is priced as.</summary>
public sealed record CandidateWord(string Word, int Id, bool Known);

/// <summary>A next-word query checked and encoded (<see cref="LanguageModel.Prepare"/>): its ids start with the line-start token.</summary>
public sealed record PreparedNextWord(NextWordQuery Query, long[] Ids, IReadOnlyList<string> Unknown, IReadOnlyList<CandidateWord> Candidates);

/// <summary>A score query checked and tokenized (<see cref="LanguageModel.PrepareScore"/>).</summary>
public sealed record PreparedScore(ScoreQuery Query, IReadOnlyList<string> Tokens);

/// <summary>A token with its probability.</summary>
/// <param name="Word">The token.</param>
/// <param name="Probability">p(token | context).</param>
/// <param name="LogProbability">Natural log of <paramref name="Probability"/>.</param>
/// <param name="InVocabulary">False for a candidate the vocabulary lacks (priced as &lt;unk&gt;).</param>
public sealed record WordProbability(string Word, double Probability, double LogProbability, bool InVocabulary = true);

/// <summary>The next-word distribution after a context.</summary>
/// <param name="Top">The top-k tokens, most probable first.</param>
/// <param name="Candidates">The asked-for candidates in the order asked.</param>
/// <param name="Entropy">Entropy of the whole distribution, in nats.</param>
/// <param name="UnknownWords">Context tokens the vocabulary lacks (read as &lt;unk&gt;).</param>
/// <param name="ContextTokens">Tokens the context was read as.</param>
/// <param name="Completion">How the answers were made: <c>token</c> (each is one vocabulary token) or, for a BPE model,
/// <c>greedy-word</c> (each top token extended greedily to a word boundary; see <see cref="WordCompletion"/>).</param>
public sealed record NextWordResult(
    IReadOnlyList<WordProbability> Top, IReadOnlyList<WordProbability> Candidates, double Entropy,
    IReadOnlyList<string> UnknownWords, int ContextTokens, string Completion = WordCompletion.Token);

/// <summary>A text to score and how many alternatives to report per token.</summary>
/// <param name="Text">The text (starts at a line start).</param>
/// <param name="TopK">The most probable tokens to report at each position (0: none; at most the vocabulary size).</param>
public sealed record ScoreQuery(string Text, int TopK = 0);

/// <summary>One token of a scored text.</summary>
/// <param name="Token">The token (as the vocabulary spells it; unknown words appear as themselves).</param>
/// <param name="LogProbability">log p(token | tokens before it).</param>
/// <param name="Known">False when the token is not in the vocabulary and was priced as &lt;unk&gt;.</param>
/// <param name="Rank">1-based rank of the token (as priced) in the prediction: 1 + the number of tokens more probable.</param>
/// <param name="Entropy">Entropy of the prediction at this position, in nats.</param>
/// <param name="Alternatives">The most probable tokens at this position (as many as asked for), most probable first.</param>
public sealed record TokenScore(string Token, double LogProbability, bool Known, int Rank = 0, double Entropy = 0,
    IReadOnlyList<WordProbability>? Alternatives = null);

/// <summary>The score of a text.</summary>
/// <param name="Tokens">Per-token log-probabilities.</param>
/// <param name="TotalLogProbability">Sum of the token log-probabilities.</param>
/// <param name="Perplexity">exp(−mean log-probability).</param>
public sealed record ScoreResult(IReadOnlyList<TokenScore> Tokens, double TotalLogProbability, double Perplexity);

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>It produced maxTokens tokens.</summary>
    Length,
    /// <summary>It produced a stop string (not included in the text).</summary>
    Stop,
    /// <summary>The model produced the end-of-line token.</summary>
    Eos,
}

/// <summary>One generated token.</summary>
/// <param name="Token">The token.</param>
/// <param name="Text">The text this token adds to the output (may be empty while a stop string is being matched).</param>
/// <param name="LogProbability">Its log-probability under the model (before temperature and filtering).</param>
/// <param name="TopAlternatives">The most probable tokens at this step, when asked for.</param>
public sealed record GeneratedToken(string Token, string Text, double LogProbability, IReadOnlyList<WordProbability> TopAlternatives);

/// <summary>How much work one RNN call and one scoring step may take (bounds memory whatever the input).</summary>
/// <param name="ChunkTokens">Most (padded) tokens per RNN call; a longer context is read in time chunks, the state carried across.</param>
/// <param name="ScoreChunkElements">Most logits (positions × vocabulary) decoded at once while scoring.</param>
/// <param name="StateCacheBytes">Budget of the hidden-state cache (0: no cache).</param>
public sealed record InferenceLimits(int ChunkTokens = 4096, long ScoreChunkElements = 1 << 21, long StateCacheBytes = 0)
{
    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first limit out of range.</summary>
    public void Validate()
    {
        InvalidSettingException.Check(ChunkTokens >= 1, "ChunkTokens", $"ChunkTokens must be at least 1 (was {ChunkTokens}).");
        InvalidSettingException.Check(ScoreChunkElements >= 1, "ScoreChunkElements", $"ScoreChunkElements must be at least 1 (was {ScoreChunkElements}).");
        InvalidSettingException.Check(StateCacheBytes >= 0, "StateCacheBytes", $"StateCacheBytes must be at least 0 (was {StateCacheBytes}).");
    }
}
