using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// Interpretability over a loaded <see cref="LanguageModel"/>: why it predicts a word (occlusion and
/// gradient × input), what its units do over a text, and which words its embeddings put close together.
/// Same thread rule as the model (the host's scheduler thread); eval mode, no dropout.
/// </summary>
public static class Explainer
{
    /// <summary>Most context tokens an explanation reads (each one costs an occluded forward pass).</summary>
    public const int MaxExplainTokens = 200;

    /// <summary>Most tokens an activation trace reads.</summary>
    public const int MaxActivationTokens = 1000;

    /// <summary>Most units per activation request, and most listed as most varying.</summary>
    public const int MaxUnits = 64;

    /// <summary>Largest <c>k</c> for neighbours.</summary>
    public const int MaxNeighbours = 100;

    // Occluded variants run in chunks so that (T × chunk × V) logits stay near this many floats.
    private const long ChunkFloats = 16_000_000;

    /// <summary>
    /// Each context token's contribution to log p(<paramref name="target"/> | context); with no target, the
    /// model's top prediction is explained. Throws <see cref="InvalidSettingException"/> naming <c>context</c>
    /// or <c>target</c>.
    /// </summary>
    public static Explanation Explain(LanguageModel model, string context, string? target)
    {
        var vocabulary = model.Vocabulary;
        var tokens = model.TokensOf(context);
        InvalidSettingException.Check(tokens.Count > 0, "context", "the context has no tokens.");
        InvalidSettingException.Check(tokens.Count <= MaxExplainTokens, "context",
            $"the context has {tokens.Count} tokens; explanations read at most {MaxExplainTokens}.");
        InvalidSettingException.Check(tokens.Any(t => t != Vocabulary.Eos && vocabulary.Contains(t)), "context",
            "none of the context's words is in the model's vocabulary.");
        long[] ids = [vocabulary.EosId, .. vocabulary.Encode(tokens)];
        var targetId = target is null ? -1 : TargetId(model, target);

        var occluded = OccludedLogProbabilities(model.Network, ids, vocabulary.UnkId, vocabulary.Count);   // (n+1) × V
        if (targetId < 0) targetId = ArgMax(occluded[0]);
        var gradient = GradientTimesInput(model.Network, ids, targetId);

        var contributions = tokens.Select((t, i) => new TokenContribution(
            t, vocabulary.Contains(t),
            ids[i + 1] == vocabulary.UnkId ? 0 : occluded[0][targetId] - occluded[i + 1][targetId],
            gradient[i])).ToList();
        return new Explanation(vocabulary[targetId], target is null, occluded[0][targetId], contributions);
    }

    /// <summary>Index of the largest value (the first of ties).</summary>
    private static int ArgMax(IReadOnlyList<double> values)
    {
        var best = 0;
        for (var i = 1; i < values.Count; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>The <paramref name="k"/> words whose input embeddings have the highest cosine with <paramref name="word"/>'s.</summary>
    public static IReadOnlyList<EmbeddingNeighbour> Neighbours(LanguageModel model, string word, int k)
    {
        InvalidSettingException.Check(!string.IsNullOrWhiteSpace(word), "word", "word is required.");
        InvalidSettingException.Check(model.Vocabulary.Contains(word), "word", $"'{word}' is not in the model's vocabulary.");
        InvalidSettingException.Check(k >= 1 && k <= Math.Min(MaxNeighbours, model.Vocabulary.Count - 1), "k",
            $"k must be between 1 and {Math.Min(MaxNeighbours, model.Vocabulary.Count - 1)} (was {k}).");
        var id = model.Vocabulary.IdOf(word);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var internals = new RnnInternals(model.Network);
        var unit = nn.functional.normalize(internals.Embeddings.to(float64), p: 2, dim: 1);     // (V, E), rows of length 1
        var cosine = unit.matmul(unit[id]);                                                        // (V)
        cosine[id] = double.NegativeInfinity;
        var (values, indices) = cosine.topk(k);
        var v = values.data<double>().ToArray();
        var ix = indices.data<long>().ToArray();
        return ix.Select((i, j) => new EmbeddingNeighbour(model.Vocabulary[(int)i], (int)i, v[j])).ToList();
    }

    /// <summary>The chosen units' values over a text, the gates' mean activations and the most varying units.</summary>
    public static ActivationTrace Activations(LanguageModel model, ActivationQuery query)
    {
        var options = model.Network.Options;
        var tokens = model.TokensOf(query.Text);
        InvalidSettingException.Check(tokens.Count > 0, "text", "the text has no tokens.");
        InvalidSettingException.Check(tokens.Count <= MaxActivationTokens, "text",
            $"the text has {tokens.Count} tokens; activations read at most {MaxActivationTokens}.");
        var layer = query.Layer ?? options.Layers - 1;
        InvalidSettingException.Check(layer >= 0 && layer < options.Layers, "layer",
            $"layer must be between 0 and {options.Layers - 1} (was {layer}).");
        InvalidSettingException.Check(query.Top is >= 1 and <= MaxUnits, "top", $"top must be between 1 and {MaxUnits} (was {query.Top}).");
        if (query.Units is { } requested)
        {
            InvalidSettingException.Check(requested.Count is >= 1 and <= MaxUnits, "units", $"units takes 1 to {MaxUnits} unit numbers.");
            InvalidSettingException.Check(requested.All(u => u >= 0 && u < options.HiddenSize), "units",
                $"every unit must be between 0 and {options.HiddenSize - 1} (the layer has {options.HiddenSize}).");
        }
        long[] ids = [model.Vocabulary.EosId, .. model.Vocabulary.Encode(tokens)];

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var internals = new RnnInternals(model.Network);
        var trace = internals.Run(internals.Embed(ids), logits: false);
        // Row 0 is the state after the line-start <eos>; rows 1..n follow the text's tokens.
        var chosen = trace.Layers[layer];
        var hidden = Rows(chosen.Hidden.narrow(0, 1, tokens.Count));                           // n × H
        var cell = chosen.Cell is null ? null : Rows(chosen.Cell.narrow(0, 1, tokens.Count));

        var variation = Enumerable.Range(0, options.HiddenSize).Select(u =>
        {
            var column = hidden.Select(r => r[u]).ToArray();
            var mean = column.Average();
            return new UnitVariation(u, Math.Sqrt(column.Average(x => (x - mean) * (x - mean))), mean);
        }).OrderByDescending(v => v.StandardDeviation).ThenBy(v => v.Unit).ToList();
        var units = query.Units ?? variation.Take(Math.Min(query.Top, 8)).Select(v => v.Unit).ToList();

        var gateMeans = trace.Layers.Select(l => (IReadOnlyDictionary<string, double>)l.Gates.ToDictionary(
            g => g.Key, g => g.Value.narrow(0, 1, tokens.Count).mean().to(float64).item<double>())).ToList();
        return new ActivationTrace(
            tokens, layer,
            units.Select(u => new UnitTrace(u, hidden.Select(r => r[u]).ToList(), cell?.Select(r => r[u]).ToList())).ToList(),
            gateMeans,
            variation.Take(query.Top).ToList());
    }

    private static int TargetId(LanguageModel model, string target)
    {
        var pieces = model.Tokenizer.TokenizeLine(target.Trim());
        InvalidSettingException.Check(pieces.Count == 1, "target", $"target must be one token of the model (was read as {pieces.Count}).");
        InvalidSettingException.Check(model.Vocabulary.Contains(pieces[0]), "target", $"'{pieces[0]}' is not in the model's vocabulary.");
        return model.Vocabulary.IdOf(pieces[0]);
    }

    /// <summary>Row 0: log-probabilities after the whole context; row i: after the context with token i replaced by &lt;unk&gt;.</summary>
    private static double[][] OccludedLogProbabilities(RnnLanguageModel net, long[] ids, int unkId, int vocabularySize)
    {
        var length = ids.Length;
        var variants = length;                                                  // original + one per context token
        var chunk = (int)Math.Max(1, Math.Min(variants, ChunkFloats / ((long)length * vocabularySize)));
        var rows = new double[variants][];
        using var noGrad = no_grad();
        for (var start = 0; start < variants; start += chunk)
        {
            var b = Math.Min(chunk, variants - start);
            var flat = new long[length * b];
            for (var t = 0; t < length; t++)
                for (var j = 0; j < b; j++)
                    flat[t * b + j] = t == start + j && t > 0 ? unkId : ids[t];   // variant v occludes position v (0: none)
            using var scope = NewDisposeScope();
            using var state = net.InitialState(b);
            var (logits, next) = net.call(tensor(flat, [length, b]), state);       // (T, b, V)
            next.Dispose();
            var last = logits[-1].to(float64).log_softmax(-1).contiguous().data<double>().ToArray();   // b × V
            for (var j = 0; j < b; j++) rows[start + j] = last.AsSpan(j * vocabularySize, vocabularySize).ToArray();
        }
        return rows;
    }

    /// <summary>∂ log p(target) / ∂ e_i · e_i for each context token i (the leading line start excluded).</summary>
    private static double[] GradientTimesInput(RnnLanguageModel net, long[] ids, long targetId)
    {
        using var grad = enable_grad();
        using var scope = NewDisposeScope();
        var internals = new RnnInternals(net, ScalarType.Float64);
        var embedded = internals.Embed(ids).requires_grad_(true);                          // (T, E)
        var trace = internals.Run(embedded);
        var logProbability = trace.Logits![-1].log_softmax(-1)[targetId];
        var gradient = autograd.grad([logProbability], [embedded])[0];                              // (T, E)
        var product = (gradient * embedded).sum(1).narrow(0, 1, ids.Length - 1);                    // (n)
        return product.data<double>().ToArray();
    }

    private static double[][] Rows(Tensor matrix)
    {
        var columns = (int)matrix.shape[1];
        var flat = matrix.to(float64).contiguous().data<double>().ToArray();
        return Enumerable.Range(0, (int)matrix.shape[0]).Select(r => flat.AsSpan(r * columns, columns).ToArray()).ToArray();
    }
}
