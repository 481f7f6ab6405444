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

    /// <summary>
    /// Indices of the <paramref name="k"/> largest values, largest first (ties: lower index first). A few out of many
    /// (next-word's topK, top-k sampling, logprobs) are picked in one pass with a k-sized heap; only a request for most
    /// of them sorts everything, on primitive keys. (A full sort through a comparison delegate cost ~1.4 ms per
    /// 10,000-word row: most of a generation step's time, bench/RESULTS.md.)
    /// </summary>
    public static int[] TopIndices(IReadOnlyList<double> values, int k)
    {
        var v = values as double[] ?? values.ToArray();
        k = Math.Min(k, v.Length);
        if (k <= 0) return [];
        if (k * 4 >= v.Length) return SortedIndices(v)[..k];

        // The heap's root is the worst index kept: lowest value, and on equal values the higher index.
        var heap = new PriorityQueue<int, int>(k, Comparer<int>.Create((a, b) => Better(v, a, b) ? 1 : Better(v, b, a) ? -1 : 0));
        for (var i = 0; i < v.Length; i++)
        {
            if (heap.Count < k) heap.Enqueue(i, i);
            else if (Better(v, i, heap.Peek())) heap.DequeueEnqueue(i, i);
        }
        var result = new int[k];
        for (var j = k - 1; j >= 0; j--) result[j] = heap.Dequeue();
        return result;
    }

    private static bool Better(double[] v, int a, int b) => v[a] > v[b] || (v[a] == v[b] && a < b);

    /// <summary>All indices, largest value first, ties by index.</summary>
    private static int[] SortedIndices(double[] v)
    {
        var keys = new double[v.Length];
        var idx = new int[v.Length];
        for (var i = 0; i < v.Length; i++) { keys[i] = -v[i]; idx[i] = i; }
        Array.Sort(keys, idx);
        for (int start = 0, end; start < keys.Length; start = end)               // the sort is not stable: order ties by index
        {
            for (end = start + 1; end < keys.Length && keys[end] == keys[start]; end++) { }
            if (end - start > 1) Array.Sort(idx, start, end - start);
        }
        return idx;
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
        if (o.TopK == 0 && o.TopP >= 1) return DrawFromAll(work, o.Temperature, rng);

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

    /// <summary>Plain sampling from the whole distribution: no ordering needed, the draw walks the ids in order.</summary>
    private static int DrawFromAll(double[] work, double temperature, Random rng)
    {
        var max = double.NegativeInfinity;
        foreach (var l in work) max = Math.Max(max, l);
        double total = 0;
        for (var i = 0; i < work.Length; i++) total += work[i] = Math.Exp((work[i] - max) / temperature);
        var draw = rng.NextDouble() * total;
        for (var i = 0; i < work.Length; i++)
        {
            draw -= work[i];
            if (draw < 0) return i;
        }
        return Array.FindLastIndex(work, p => p > 0);
    }
}
