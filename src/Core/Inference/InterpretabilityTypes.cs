namespace RnnLmService.Core.Inference;

/// <summary>Why the model predicts <see cref="Target"/> after a context: one contribution per context token and method.</summary>
/// <param name="Target">The explained word (the request's, or the top prediction).</param>
/// <param name="TargetWasPredicted">True when no target was given and the top prediction was explained.</param>
/// <param name="TargetLogProbability">log p(target | whole context).</param>
/// <param name="Tokens">The context tokens, in order, each with its contributions.</param>
public sealed record Explanation(string Target, bool TargetWasPredicted, double TargetLogProbability, IReadOnlyList<TokenContribution> Tokens);

/// <summary>
/// One context token's contribution to the target's log-probability. <paramref name="Occlusion"/>: how much the
/// log-probability drops when the token is replaced by &lt;unk&gt; (positive: the token made the target likelier).
/// <paramref name="GradientTimesInput"/>: the gradient of the log-probability with respect to the token's
/// embedding, dotted with that embedding (a first-order estimate of the same effect).
/// </summary>
public sealed record TokenContribution(string Token, bool InVocabulary, double Occlusion, double GradientTimesInput);

/// <summary>A word close to another in the input embedding space.</summary>
public sealed record EmbeddingNeighbour(string Word, int Id, double Cosine);

/// <summary>What one layer's units did over a text.</summary>
/// <param name="Tokens">The text's tokens; the values below are the state after reading each one.</param>
/// <param name="Layer">The 0-based layer the unit values come from.</param>
/// <param name="Units">The chosen units' values per token.</param>
/// <param name="GateMeans">Per layer, each gate's mean activation over the text and all units.</param>
/// <param name="MostVarying">The layer's units whose hidden value varies most over the text, most varying first.</param>
public sealed record ActivationTrace(
    IReadOnlyList<string> Tokens, int Layer, IReadOnlyList<UnitTrace> Units,
    IReadOnlyList<IReadOnlyDictionary<string, double>> GateMeans, IReadOnlyList<UnitVariation> MostVarying);

/// <summary>One unit's hidden values (and LSTM cell values, else null) per token.</summary>
public sealed record UnitTrace(int Unit, IReadOnlyList<double> Hidden, IReadOnlyList<double>? Cell);

/// <summary>A unit's standard deviation and mean over a text.</summary>
public sealed record UnitVariation(int Unit, double StandardDeviation, double Mean);

/// <summary>What <see cref="Explainer.Activations"/> reads.</summary>
/// <param name="Text">The text to run.</param>
/// <param name="Layer">0-based layer, or null for the last one.</param>
/// <param name="Units">Units to report, or null for the <paramref name="Top"/> most varying ones (at most 64).</param>
/// <param name="Top">How many most varying units to list (1..64).</param>
public sealed record ActivationQuery(string Text, int? Layer, IReadOnlyList<int>? Units, int Top = 10);
