using RnnLmService.Core.Inference;
using Xunit;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>The sampler's selection and draws against plain reference computations.</summary>
public sealed class SamplerTests
{
    /// <summary>The reference: every index sorted by value descending, ties by index.</summary>
    private static int[] NaiveTop(double[] v, int k) =>
        [.. Enumerable.Range(0, v.Length).OrderByDescending(i => v[i]).ThenBy(i => i).Take(k)];

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(40)]
    [InlineData(2_600)]   // a quarter or more: the sorting path
    [InlineData(10_000)]
    [InlineData(20_000)]  // more than there are
    public void Top_indices_equal_a_full_sort_including_ties(int k)
    {
        var rng = new Random(5);
        // Values drawn from few levels, so that ties are everywhere, plus some distinct ones.
        var v = Enumerable.Range(0, 10_000).Select(i => i % 7 == 0 ? rng.NextDouble() : rng.Next(50) / 10.0).ToArray();
        Assert.Equal(NaiveTop(v, k), Sampler.TopIndices(v, k));
        Assert.Equal(NaiveTop(v, k), Sampler.TopIndices(v.ToList(), k)); // not only arrays
    }

    [Fact]
    public void Sampling_from_the_whole_vocabulary_follows_the_softmax_at_its_temperature()
    {
        float[] logits = [2.0f, 1.0f, 0.0f, -1.0f, 0.5f];
        var o = new GenerationOptions { Temperature = 0.7 };
        var weights = logits.Select(l => Math.Exp(l / 0.7)).ToArray();
        var expected = weights.Select(w => w / weights.Sum()).ToArray();
        var rng = new Random(11);
        var counts = new int[logits.Length];
        const int draws = 200_000;
        for (var i = 0; i < draws; i++) counts[Sampler.Choose(logits, o, new HashSet<int>(), rng)]++;
        for (var i = 0; i < logits.Length; i++)
            Assert.InRange(counts[i] / (double)draws, expected[i] - 0.005, expected[i] + 0.005); // ~5 standard errors
    }

    [Fact]
    public void Top_k_sampling_never_leaves_the_k_best()
    {
        var rng = new Random(3);
        var logits = Enumerable.Range(0, 1_000).Select(_ => (float)rng.NextDouble()).ToArray();
        var best = NaiveTop([.. logits.Select(l => (double)l)], 5).ToHashSet();
        var o = new GenerationOptions { Temperature = 5.0, TopK = 5 };
        var seen = Enumerable.Range(0, 5_000).Select(_ => Sampler.Choose(logits, o, new HashSet<int>(), rng)).ToHashSet();
        Assert.Equal(best, seen); // all five drawn at a high temperature, nothing else
    }
}
