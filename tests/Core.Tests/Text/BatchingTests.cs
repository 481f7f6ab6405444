using RnnLmService.Core.Text;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Text;

public class BatchingTests
{
    private static long[] Ids(int n) => Enumerable.Range(0, n).Select(i => (long)i).ToArray();

    [Fact]
    public void Batchify_TrimsAndLaysOutColumnsAsContiguousStreams()
    {
        using var source = Batching.Batchify(Ids(103), 4);
        Assert.Equal([25L, 4], source.shape);
        Assert.Equal(ScalarType.Int64, source.dtype);
        for (int b = 0; b < 4; b++)
        {
            using var column = source[.., b];
            Assert.Equal(Enumerable.Range(b * 25, 25).Select(i => (long)i), column.data<long>().ToArray());
        }
    }

    [Theory]
    [InlineData(7, 4)]  // T = 1: no input/target pair
    [InlineData(0, 1)]
    public void Batchify_TooFewTokens_ThrowsCorpusExceptionNamingTheField(int n, int batchSize)
    {
        Assert.Equal("evalBatchSize", Assert.Throws<CorpusException>(() => Batching.Batchify(Ids(n), batchSize, "evalBatchSize")).Field);
        Assert.Equal("batchSize", Assert.Throws<CorpusException>(() => Batching.Batchify(Ids(n), batchSize)).Field);
    }

    [Fact]
    public void Batchify_ZeroBatchSize_IsRejected() =>
        Assert.Equal("batchSize", Assert.Throws<InvalidSettingException>(() => Batching.Batchify(Ids(10), 0)).Field);

    [Theory]
    [InlineData(25, 35, 1)]
    [InlineData(25, 24, 1)]
    [InlineData(25, 10, 3)]  // windows of 10, 10, 4
    [InlineData(25, 8, 3)]   // 24 = 3 * 8 exactly
    [InlineData(2, 35, 1)]
    [InlineData(1, 35, 0)]
    public void BatchCount_IsCeilOfTMinusOneOverBptt(long t, int bptt, int expected) =>
        Assert.Equal(expected, Batching.BatchCount(t, bptt));

    [Fact]
    public void GetBatch_TargetIsInputShiftedByOne_LastWindowIsShort()
    {
        using var scope = NewDisposeScope();
        var source = Batching.Batchify(Ids(103), 4); // (25, 4)
        int windows = 0;
        var lengths = new List<long>();
        for (int i = 0; i < source.shape[0] - 1; i += 10, windows++)
        {
            var (input, target) = Batching.GetBatch(source, i, bptt: 10);
            long len = input.shape[0];
            lengths.Add(len);
            Assert.Equal([len, 4L], input.shape);
            Assert.Equal([len * 4], target.shape);
            var inputValues = input.data<long>().ToArray();
            var targetValues = target.data<long>().ToArray();
            // Row-major (len, B) flattened: element (t, b) at t*4+b; the target of stream b at step t is the next id in that stream.
            for (int k = 0; k < inputValues.Length; k++) Assert.Equal(inputValues[k] + 1, targetValues[k]);
            Assert.Equal(i, inputValues[0]); // stream 0 starts at id 0
        }
        Assert.Equal([10L, 10, 4], lengths);
        Assert.Equal(Batching.BatchCount(25, 10), windows);
    }

    [Fact]
    public void GetBatch_StartOutOfRange_Throws()
    {
        using var source = Batching.Batchify(Ids(20), 2); // (10, 2)
        Assert.Throws<ArgumentOutOfRangeException>(() => Batching.GetBatch(source, 9, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Batching.GetBatch(source, -1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Batching.GetBatch(source, 0, 0));
    }
}
