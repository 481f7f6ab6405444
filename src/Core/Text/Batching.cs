using static TorchSharp.torch;

namespace RnnLmService.Core.Text;

/// <summary>
/// The classic word-LM batching: a token stream cut into B parallel streams, read in windows of
/// <c>bptt</c> steps, each input paired with the same window shifted by one as the target.
/// </summary>
public static class Batching
{
    /// <summary>
    /// Trims <paramref name="ids"/> to a multiple of <paramref name="batchSize"/> and lays it out as
    /// (T, B) int64, T = ids.Length / B: column b is the b-th contiguous stream, ids[b*T .. b*T+T-1].
    /// Throws <see cref="CorpusException"/> naming <paramref name="field"/> when T &lt; 2 (no input/target pair).
    /// The caller owns (disposes) the returned tensor.
    /// </summary>
    public static Tensor Batchify(long[] ids, int batchSize, string field = "batchSize")
    {
        ArgumentNullException.ThrowIfNull(ids);
        InvalidSettingException.Check(batchSize >= 1, field, $"{field} must be at least 1 (got {batchSize}).");
        int steps = ids.Length / batchSize; // T
        if (steps < 2)
            throw new CorpusException(field,
                $"{ids.Length} tokens cannot fill {batchSize} streams of at least 2 tokens; use a smaller {field} or more text.");
        var layout = new long[(long)steps * batchSize]; // row-major (T, B)
        for (int b = 0; b < batchSize; b++)
            for (int t = 0; t < steps; t++)
                layout[(long)t * batchSize + b] = ids[(long)b * steps + t];
        return tensor(layout, [steps, batchSize], ScalarType.Int64);
    }

    /// <summary>Number of <paramref name="bptt"/> windows over a (T, B) source with T = <paramref name="streamLength"/>: ceil((T-1)/bptt).</summary>
    public static int BatchCount(long streamLength, int bptt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bptt, 1);
        return streamLength < 2 ? 0 : checked((int)((streamLength - 1 + bptt - 1) / bptt));
    }

    /// <summary>
    /// The window starting at row <paramref name="i"/> of a (T, B) source: input (len, B) = source[i .. i+len),
    /// target (len*B) = source[i+1 .. i+1+len) flattened, len = min(bptt, T-1-i). Both are views of the
    /// source; create them inside the batch's dispose scope.
    /// </summary>
    public static (Tensor Input, Tensor Target) GetBatch(Tensor source, int i, int bptt)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNotEqual(source.dim(), 2L, nameof(source));
        ArgumentOutOfRangeException.ThrowIfLessThan(bptt, 1);
        long steps = source.shape[0]; // T
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, steps - 1);
        long len = Math.Min(bptt, steps - 1 - i);
        var input = source.narrow(0, i, len);                   // (len, B)
        using var shifted = source.narrow(0, i + 1, len);       // (len, B)
        var target = shifted.reshape(-1);                       // (len*B)
        return (input, target);
    }
}
