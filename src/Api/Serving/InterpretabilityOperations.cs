using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Serving;

/// <summary>The interpretability endpoints' work, run on each model's scheduler (see <see cref="ModelOperation{TIn,TOut}"/>).</summary>
internal static class InterpretabilityOperations
{
    /// <summary>Contributions of each context token to a target's log-probability.</summary>
    public static readonly ModelOperation<(string Context, string? Target), Explanation> Explain =
        new("explain", (model, q) => Explainer.Explain(model, q.Context, q.Target));

    /// <summary>Unit values and gate means over a text.</summary>
    public static readonly ModelOperation<ActivationQuery, ActivationTrace> Activations =
        new("activations", Explainer.Activations);

    /// <summary>Nearest words by cosine over the input embeddings.</summary>
    public static readonly ModelOperation<(string Word, int K), IReadOnlyList<EmbeddingNeighbour>> Neighbours =
        new("neighbours", (model, q) => Explainer.Neighbours(model, q.Word, q.K));

    /// <summary>A page of the vocabulary: its size, the tokens with ids in [offset, offset + limit) and their training counts (null when not stored).</summary>
    public static readonly ModelOperation<(int Offset, int Limit), (int Total, IReadOnlyList<string> Tokens, IReadOnlyList<long>? Counts)> Vocabulary =
        new("vocabulary", (model, q) =>
        {
            var v = model.Vocabulary;
            return (v.Count, v.Tokens.Skip(q.Offset).Take(q.Limit).ToList(), v.Counts?.Skip(q.Offset).Take(q.Limit).ToList());
        });
}
