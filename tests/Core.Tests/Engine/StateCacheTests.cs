using RnnLmService.Core.Inference;
using RnnLmService.Core.Modeling;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

public sealed class StateCacheTests
{
    private static RnnState State(float value) => new(full(new long[] { 2, 1, 50 }, value), full(new long[] { 2, 1, 50 }, -value));

    [Fact]
    public void The_cache_never_exceeds_its_byte_budget_and_evicts_the_least_recently_used()
    {
        const long budget = 4_000;                                  // room for a few 800-byte states and their keys
        using var cache = new StateCache(budget);
        var rng = new Random(1);
        var added = new List<long[]>();
        for (var i = 0; i < 200; i++)
        {
            var ids = Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (long)rng.Next(100)).ToArray();
            using var s = State(i);
            cache.Add(ids, s);
            added.Add(ids);
            Assert.InRange(cache.Bytes, 1, budget);
            if (i == 100)
            {
                var (n, kept) = cache.Find(added[99]);            // used now: survives the next addition
                using (kept) Assert.Equal(added[99].Length, n);
            }
            if (i == 101) Assert.Equal(added[99].Length, cache.Find(added[99]).Length);
        }
        Assert.InRange(cache.Count, 2, 4);
        Assert.Equal(0, cache.Find(added[0]).Length);              // long gone
        Assert.Equal(added[^1].Length, cache.Find(added[^1]).Length);

        using var big = new RnnState(zeros(2, 1, 10_000), zeros(2, 1, 10_000));
        cache.Add([1, 2, 3], big);                                  // larger than the whole budget: not kept
        Assert.Equal(0, cache.Find([1, 2, 3]).Length);
        Assert.InRange(cache.Bytes, 1, budget);
    }

    [Fact]
    public void Find_returns_the_longest_cached_prefix_and_a_copy_of_its_state()
    {
        using var cache = new StateCache(1 << 20);
        using (var a = State(1)) cache.Add([1, 5, 6], a);
        using (var b = State(2)) cache.Add([1, 5, 6, 7, 8], b);
        var (n, state) = cache.Find([1, 5, 6, 7, 9, 10]);
        Assert.Equal(3, n);
        Assert.Equal(1f, state!.H[0, 0, 0].item<float>());
        state.Dispose();                                            // the caller's copy: the cached one stays usable
        var (m, again) = cache.Find([1, 5, 6, 7, 8, 2]);
        Assert.Equal(5, m);
        Assert.Equal(-2f, again!.C![1, 0, 3].item<float>());
        again.Dispose();
        Assert.Equal(0, cache.Find([2, 5, 6]).Length);
        Assert.Equal(2, cache.Hits);
        Assert.Equal(1, cache.Misses);
    }
}
