using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// What one stream brings to a sampling step: its options, the ids it has seen (prompt and output), its own generator
/// and how often it has generated each id (for the presence and frequency penalties).
/// </summary>
internal sealed record SamplingRow(GenerationOptions Options, IReadOnlySet<int> Seen, Random Random, IReadOnlyDictionary<int, int>? Generated = null)
{
    /// <summary>Whether the row adds anything to its logits (bias or penalties).</summary>
    public bool Adds => Options.LogitBias.Count > 0 || (Generated is { Count: > 0 } && (Options.PresencePenalty != 0 || Options.FrequencyPenalty != 0));
}

/// <summary>
/// Chooses the next token of every stream of a step at once, on the tensor side: repetition penalty, logit bias,
/// presence and frequency penalties, temperature,
/// top-k and top-p as (B, V) tensor operations, then an inverse-CDF draw with one uniform number per stream from
/// the stream's own seeded <see cref="Random"/>. A stream's draw therefore depends only on its own seed and logits,
/// never on which other streams share the batch. Only the B chosen ids are copied back.
/// </summary>
internal static class TensorSampler
{
    /// <summary>Chosen ids for (B, V) float64 <paramref name="logits"/>, one row per entry of <paramref name="rows"/>.</summary>
    public static long[] Choose(Tensor logits, IReadOnlyList<SamplingRow> rows)
    {
        using var scope = NewDisposeScope();
        var b = rows.Count;
        var work = Adjust(logits, rows);                                                        // (B, V)
        var result = new long[b];
        var greedy = Enumerable.Range(0, b).Where(j => rows[j].Options.Temperature == 0).ToArray();
        if (greedy.Length > 0)
        {
            var best = work.index_select(0, Index(greedy)).argmax(-1).data<long>().ToArray();
            for (var g = 0; g < greedy.Length; g++) result[greedy[g]] = best[g];
        }
        var plain = Enumerable.Range(0, b).Where(j => rows[j].Options.Temperature > 0 && !Filters(rows[j].Options)).ToArray();
        if (plain.Length > 0) Draw(work, rows, plain, filtered: false, result);
        var filtered = Enumerable.Range(0, b).Where(j => rows[j].Options.Temperature > 0 && Filters(rows[j].Options)).ToArray();
        if (filtered.Length > 0) Draw(work, rows, filtered, filtered: true, result);
        return result;
    }

    private static bool Filters(GenerationOptions o) => o.TopK > 0 || o.TopP < 1;

    private static Tensor Index(IEnumerable<int> rows) => tensor(rows.Select(r => (long)r).ToArray());

    /// <summary>
    /// The logits the draw reads: the repetition penalty, then OpenAI's additive terms in one (B, V) scatter-add:
    /// <c>logit[j] + bias[j] − count[j]·frequency − (count[j] &gt; 0)·presence</c>, count being how often the stream generated j.
    /// </summary>
    internal static Tensor Adjust(Tensor logits, IReadOnlyList<SamplingRow> rows)
    {
        var work = Penalize(logits, rows);
        if (!rows.Any(r => r.Adds)) return work;
        var r = new List<long>();
        var c = new List<long>();
        var v = new List<double>();
        for (var j = 0; j < rows.Count; j++)
        {
            var o = rows[j].Options;
            foreach (var (id, bias) in o.LogitBias) { r.Add(j); c.Add(id); v.Add(bias); }
            if (o.PresencePenalty == 0 && o.FrequencyPenalty == 0) continue;
            foreach (var (id, count) in rows[j].Generated ?? new Dictionary<int, int>())
            {
                r.Add(j); c.Add(id); v.Add(-count * o.FrequencyPenalty - (count > 0 ? o.PresencePenalty : 0));
            }
        }
        var added = zeros_like(work);
        added.index_put_(tensor(v.ToArray(), work.dtype), [tensor(r.ToArray()), tensor(c.ToArray())], accumulate: true);
        return work + added;
    }

    /// <summary>Divides positive logits of seen tokens by the penalty and multiplies negative ones (CTRL's rule).</summary>
    private static Tensor Penalize(Tensor logits, IReadOnlyList<SamplingRow> rows)
    {
        var r = new List<long>();
        var c = new List<long>();
        var penalty = new double[rows.Count];
        for (var j = 0; j < rows.Count; j++)
        {
            penalty[j] = rows[j].Options.RepetitionPenalty;
            if (penalty[j] == 1.0) continue;
            foreach (var id in rows[j].Seen) { r.Add(j); c.Add(id); }
        }
        if (r.Count == 0) return logits;
        var mask = zeros_like(logits, dtype: ScalarType.Bool);
        mask.index_put_(tensor(true), tensor(r.ToArray()), tensor(c.ToArray()));
        var p = tensor(penalty, float64).unsqueeze(1);                                          // (B, 1)
        return where(mask, where(logits > 0, logits / p, logits * p), logits);
    }

    /// <summary>
    /// Draws for <paramref name="which"/> rows. Unfiltered rows walk the ids in order (cumulative weights in id order);
    /// filtered rows walk them by decreasing probability, cut to top-k, then to the smallest prefix reaching top-p.
    /// </summary>
    private static void Draw(Tensor work, IReadOnlyList<SamplingRow> rows, int[] which, bool filtered, long[] result)
    {
        var everyRow = which.Length == work.shape[0];                                          // which is then 0..B-1
        var sub = everyRow ? work : work.index_select(0, Index(which));                         // (S, V)
        var temperatures = which.Select(j => rows[j].Options.Temperature).ToArray();
        var scaled = temperatures.All(t => t == 1.0) ? sub : sub / tensor(temperatures, float64).unsqueeze(1); // x / 1 == x
        var weights = (scaled - scaled.max(-1, keepdim: true).values).exp();                   // unnormalised softmax
        Tensor? order = null;
        if (filtered)
        {
            var sorted = weights.sort(-1, descending: true, stable: true);                      // ties: lower id first
            order = sorted.Indices;
            weights = Restrict(sorted.Values, which.Select(j => rows[j].Options).ToList());
        }
        var cumulative = weights.cumsum(-1);                                                    // (S, V)
        var total = cumulative.narrow(1, cumulative.shape[1] - 1, 1);                          // (S, 1)
        var uniforms = tensor(which.Select(j => rows[j].Random.NextDouble()).ToArray(), float64).unsqueeze(1);
        var position = (cumulative <= uniforms * total).sum(-1, keepdim: true);                 // first id whose cumulative passes the draw
        var last = (weights > 0).sum(-1, keepdim: true) - 1;                                    // rounding never picks a cut token
        position = minimum(position, last);
        var picked = (order is null ? position : order.gather(1, position)).squeeze(1).data<long>().ToArray();
        for (var s = 0; s < which.Length; s++) result[which[s]] = picked[s];
    }

    /// <summary>Zeroes sorted weights beyond top-k, then beyond the smallest prefix whose share of the rest reaches top-p.</summary>
    private static Tensor Restrict(Tensor sortedWeights, IReadOnlyList<GenerationOptions> options)
    {
        var v = sortedWeights.shape[1];
        var rank = arange(v, int64).unsqueeze(0);                                               // (1, V)
        var k = tensor(options.Select(o => o.TopK > 0 ? (long)o.TopK : v).ToArray()).unsqueeze(1);
        var kept = where(rank < k, sortedWeights, zeros_like(sortedWeights));
        var cumulative = kept.cumsum(-1);
        var share = (cumulative - kept) / cumulative.narrow(1, v - 1, 1);                       // mass before each token
        var p = tensor(options.Select(o => o.TopP).ToArray(), float64).unsqueeze(1);
        return where(share < p, kept, zeros_like(kept));
    }
}
