using RnnLmService.Core.Inference;
using RnnLmService.Core.Modeling;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

public sealed class StateCacheTests
{
    /// <summary>One sequence's state of a 2-layer LSTM with 50 units, as the cache keeps it: h (value) then c (−value).</summary>
    private static float[] State(float value) => [.. Enumerable.Repeat(value, 100), .. Enumerable.Repeat(-value, 100)];

    [Fact]
    public void The_cache_never_exceeds_its_byte_budget_and_evicts_the_least_recently_used()
    {
        const long budget = 4_000;                                  // room for a few 800-byte states and their keys
        var cache = new StateCache(budget);
        var rng = new Random(1);
        var added = new List<long[]>();
        for (var i = 0; i < 200; i++)
        {
            var ids = Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (long)rng.Next(100)).ToArray();
            cache.Add(ids, State(i));
            added.Add(ids);
            Assert.InRange(cache.Bytes, 1, budget);
            if (i == 100)
            {
                var (n, kept) = cache.Find(added[99]);            // used now: survives the next addition
                Assert.Equal(added[99].Length, n);
                Assert.Equal(99f, kept![0]);
            }
            if (i == 101) Assert.Equal(added[99].Length, cache.Find(added[99]).Length);
        }
        Assert.InRange(cache.Count, 2, 4);
        Assert.Equal(0, cache.Find(added[0]).Length);              // long gone
        Assert.Equal(added[^1].Length, cache.Find(added[^1]).Length);

        cache.Add([1, 2, 3], new float[40_000]);                  // larger than the whole budget: not kept
        Assert.Equal(0, cache.Find([1, 2, 3]).Length);
        Assert.InRange(cache.Bytes, 1, budget);
    }

    [Fact]
    public void Find_returns_the_longest_cached_prefix_and_its_state()
    {
        var cache = new StateCache(1 << 20);
        cache.Add([1, 5, 6], State(1));
        cache.Add([1, 5, 6, 7, 8], State(2));
        var (n, state) = cache.Find([1, 5, 6, 7, 9, 10]);
        Assert.Equal(3, n);
        Assert.Equal(1f, state![0]);
        var (m, again) = cache.Find([1, 5, 6, 7, 8, 2]);
        Assert.Equal(5, m);
        Assert.Equal(-2f, again![3 * 50 + 3]);                     // c, layer 1, unit 3
        Assert.Equal(0, cache.Find([2, 5, 6]).Length);
        Assert.Equal(2, cache.Hits);
        Assert.Equal(1, cache.Misses);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Scatter_then_Gather_gives_back_each_sequence_and_zeros_where_none_is_cached(bool lstm)
    {
        var h = randn(2, 3, 50);
        using var state = new RnnState(h, lstm ? randn(2, 3, 50) : null);
        var rows = StateCache.Scatter(state);
        Assert.Equal(3, rows.Length);
        Assert.Equal((lstm ? 2 : 1) * 2 * 50, rows[0].Length);
        using var back = StateCache.Gather([rows[2], null, rows[0]], 2, 50, lstm);
        Assert.Equal(new long[] { 2, 3, 50 }, back.H.shape);
        Assert.True(back.H[.., 0].eq(state.H[.., 2]).all().item<bool>());
        Assert.True(back.H[.., 2].eq(state.H[.., 0]).all().item<bool>());
        Assert.Equal(0f, back.H[.., 1].abs().sum().item<float>());
        Assert.Equal(lstm, back.C is not null);
        if (lstm)
        {
            Assert.True(back.C![.., 0].eq(state.C![.., 2]).all().item<bool>());
            Assert.Equal(0f, back.C[.., 1].abs().sum().item<float>());
        }
    }
}
