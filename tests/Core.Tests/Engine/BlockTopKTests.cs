using RnnLmService.Core.Inference;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

public sealed class BlockTopKTests
{
    [Theory]
    [InlineData(10_000, 10)]   // the next-word case: 78 whole blocks and a 16-column tail
    [InlineData(10_000, 1)]
    [InlineData(4_096, 8)]     // whole blocks only
    [InlineData(5_000, 40)]    // 39 blocks < 4k: plain topk
    [InlineData(300, 3)]       // too few blocks: plain topk
    public void Gives_the_values_and_columns_of_topk(int vocabulary, int k)
    {
        manual_seed(vocabulary + k);
        using var x = randn(7, vocabulary);
        using var _ = NewDisposeScope();
        var (expectedValues, expectedIds) = x.topk(k, -1);
        var (values, ids) = BlockTopK.Of(x, k);
        Assert.Equal(new long[] { 7, k }, values.shape);
        Assert.Equal(expectedValues.data<float>().ToArray(), values.data<float>().ToArray());
        Assert.Equal(expectedIds.data<long>().ToArray(), ids.data<long>().ToArray());
    }

    [Fact]
    public void Finds_a_row_whose_top_entries_crowd_one_block_and_the_tail()
    {
        using var x = full(2, 10_000, -5f);
        // Row 0: all ten largest in block 3; row 1: the largest in the tail (columns 9,984..9,999), the rest spread out.
        for (var i = 0; i < 10; i++) x[0, 3 * BlockTopK.Block + i] = tensor(10f - i);
        x[1, 9_999] = tensor(50f);
        for (var i = 1; i < 10; i++) x[1, i * 997] = tensor(40f - i);
        var (values, ids) = BlockTopK.Of(x, 10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)(3 * BlockTopK.Block + i)), ids[0].data<long>().ToArray());
        Assert.Equal(new long[] { 9_999, 997, 1994, 2991, 3988, 4985, 5982, 6979, 7976, 8973 }, ids[1].data<long>().ToArray());
        Assert.Equal(50f, values[1, 0].item<float>());
    }
}
