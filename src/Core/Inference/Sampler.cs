namespace RnnLmService.Core.Inference;

/// <summary>Turns a row of logits into a chosen token: repetition penalty, temperature, top-k, top-p, then a draw.</summary>
internal static class Sampler
{
    /// <summary>log-softmax of <paramref name="logits"/>, in double precision.</summary>
    public static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        var logZ = max + Math.Log(sum);
        var result = new double[logits.Length];
        for (var i = 0; i < logits.Length; i++) result[i] = logits[i] - logZ;
        return result;
    }

    /// <summary>Indices of the <paramref name="k"/> largest values, largest first (ties: lower index first).</summary>
    public static int[] TopIndices(IReadOnlyList<double> values, int k)
    {
        var idx = Enumerable.Range(0, values.Count).ToArray();
        Array.Sort(idx, (a, b) => values[b].CompareTo(values[a]) is var c && c != 0 ? c : a.CompareTo(b));
        return idx[..Math.Min(k, idx.Length)];
    }

    /// <summary>Chooses the next token id.</summary>
    public static int Choose(float[] logits, GenerationOptions o, ISet<int> seen, Random rng)
    {
        var work = new double[logits.Length];
        for (var i = 0; i < work.Length; i++)
        {
            double l = logits[i];
            if (o.RepetitionPenalty != 1.0 && seen.Contains(i)) l = l > 0 ? l / o.RepetitionPenalty : l * o.RepetitionPenalty;
            work[i] = l;
        }
        if (o.Temperature == 0) return TopIndices(work, 1)[0];

        var order = TopIndices(work, o.TopK > 0 ? o.TopK : work.Length);
        var max = work[order[0]];
        var probs = new double[order.Length];
        double total = 0;
        for (var j = 0; j < order.Length; j++) total += probs[j] = Math.Exp((work[order[j]] - max) / o.Temperature);

        // Nucleus: keep the smallest prefix (by probability) whose mass reaches topP.
        var keep = order.Length;
        if (o.TopP < 1)
        {
            double cum = 0;
            for (var j = 0; j < order.Length; j++)
            {
                cum += probs[j] / total;
                if (cum >= o.TopP) { keep = j + 1; break; }
            }
        }
        double kept = 0;
        for (var j = 0; j < keep; j++) kept += probs[j];
        var draw = rng.NextDouble() * kept;
        for (var j = 0; j < keep; j++)
        {
            draw -= probs[j];
            if (draw < 0) return order[j];
        }
        return order[keep - 1];
    }
}
