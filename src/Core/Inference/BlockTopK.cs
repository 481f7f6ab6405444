using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// The k largest entries of each row, as <c>topk</c> returns them (sorted, with their column indices), found through
/// blocks: each of the k largest entries lies in a block whose maximum is among the k largest block maxima, so a row's
/// top k are the top k of those k blocks (plus the columns past the last whole block). For a next-word batch (B, 10,000)
/// and k = 10 that reads each row once for the block maxima and then ~1,300 entries, where <c>topk</c> over the row
/// copied all 10,000 (value, index) pairs: 9 % of the inference thread under the typing load (perf, bench/RESULTS.md).
/// Entries equal to the k-th largest may come back with another of their equal columns than <c>topk</c> picks.
/// </summary>
public static class BlockTopK
{
    /// <summary>Columns per block.</summary>
    public const int Block = 128;

    /// <summary>The <paramref name="k"/> largest entries of each row of <paramref name="x"/> (B, V), descending, and their columns.</summary>
    public static (Tensor Values, Tensor Indices) Of(Tensor x, int k)
    {
        var v = x.shape[^1];
        var blocks = v / Block;
        if (x.dim() != 2 || k > 64 || blocks < 4 * k) return x.topk(k, -1);
        var b = x.shape[0];
        using var scope = NewDisposeScope();
        var rows = x.contiguous();
        var whole = blocks * Block;
        using var maxima = rows.narrow(1, 0, whole).view(b, blocks, Block).amax(2);             // (B, blocks)
        var (_, best) = maxima.topk(k, -1);                                                     // (B, k)
        var columns = (best.unsqueeze(2) * Block + arange(Block, dtype: ScalarType.Int64).view(1, 1, Block)).view(b, k * Block);
        if (whole < v) columns = cat([columns, arange(whole, v, dtype: ScalarType.Int64).expand(b, v - whole)], 1);
        var (values, at) = rows.gather(1, columns).topk(k, -1);
        var indices = columns.gather(1, at);
        return (values.MoveToOuterDisposeScope(), indices.MoveToOuterDisposeScope());
    }
}
