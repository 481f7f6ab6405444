using RnnLmService.Core.Inference;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>The tensor-side sampler on rows of known logits: support and frequencies against the definitions.</summary>
public sealed class SamplerTests
{
    /// <summary>Draws <paramref name="draws"/> times for every row at once (one step per draw); counts per row and id.</summary>
    private static int[][] Counts(double[][] logits, IReadOnlyList<GenerationOptions> options, int draws, int seed = 11, ISet<int>? seen = null)
    {
        using var scope = NewDisposeScope();
        var v = logits[0].Length;
        var t = tensor(logits.SelectMany(r => r).ToArray(), [logits.Length, v]);
        var rows = options.Select((o, i) => new SamplingRow(o, (IReadOnlySet<int>?)seen?.ToHashSet() ?? new HashSet<int>(), new Random(seed + i))).ToList();
        var counts = logits.Select(_ => new int[v]).ToArray();
        for (var d = 0; d < draws; d++)
        {
            var ids = TensorSampler.Choose(t, rows);
            for (var r = 0; r < rows.Count; r++) counts[r][ids[r]]++;
        }
        return counts;
    }

    private static double[] Softmax(double[] logits, double temperature)
    {
        var w = logits.Select(l => Math.Exp(l / temperature)).ToArray();
        return w.Select(x => x / w.Sum()).ToArray();
    }

    [Fact]
    public void Sampling_from_the_whole_vocabulary_follows_the_softmax_at_its_temperature()
    {
        double[] logits = [2.0, 1.0, 0.0, -1.0, 0.5];
        const int draws = 20_000;
        var counts = Counts([logits, logits], [new GenerationOptions { Temperature = 0.7 }, new GenerationOptions { Temperature = 2.0 }], draws);
        foreach (var (row, temperature) in new[] { (0, 0.7), (1, 2.0) })
        {
            var expected = Softmax(logits, temperature);
            for (var i = 0; i < logits.Length; i++)
                Assert.InRange(counts[row][i] / (double)draws, expected[i] - 0.02, expected[i] + 0.02); // ~6 standard errors
        }
    }

    [Fact]
    public void Top_k_and_top_p_restrict_the_support_as_specified()
    {
        // Probabilities 0.5, 0.3, 0.15, 0.05 (temperature 1): top-p 0.7 keeps {0, 1} (0.5 < 0.7, 0.8 reaches it);
        // top-p 0.81 also keeps 2; top-k 3 keeps {0, 1, 2}; top-k 3 with top-p 0.6 renormalises over the three
        // (0.5/0.95 = 0.526 < 0.6, so 1 stays) and keeps {0, 1}.
        double[] logits = [Math.Log(0.15), Math.Log(0.5), Math.Log(0.05), Math.Log(0.3)];
        GenerationOptions[] options =
        [
            new() { TopP = 0.7 }, new() { TopP = 0.81 }, new() { TopK = 3 }, new() { TopK = 3, TopP = 0.6 }, new() { TopK = 1 },
        ];
        const int draws = 4_000;
        var counts = Counts(options.Select(_ => logits).ToArray(), options, draws);
        int[][] support = [[1, 3], [0, 1, 3], [0, 1, 3], [1, 3], [1]];
        double[][] shares = [[0.5 / 0.8, 0.3 / 0.8], [0.15 / 0.95, 0.5 / 0.95, 0.3 / 0.95], [0.15 / 0.95, 0.5 / 0.95, 0.3 / 0.95], [0.5 / 0.8, 0.3 / 0.8], [1.0]];
        for (var r = 0; r < options.Length; r++)
        {
            Assert.Equal(support[r], Enumerable.Range(0, 4).Where(i => counts[r][i] > 0));
            for (var s = 0; s < support[r].Length; s++)
                Assert.InRange(counts[r][support[r][s]] / (double)draws, shares[r][s] - 0.04, shares[r][s] + 0.04);
        }
    }

    [Fact]
    public void Greedy_takes_the_best_and_the_repetition_penalty_pushes_seen_tokens_down()
    {
        double[] logits = [1.0, 3.0, 2.9, -1.0];
        var counts = Counts([logits, logits], [new GenerationOptions { Temperature = 0 }, new GenerationOptions { Temperature = 0, RepetitionPenalty = 1.1 }], 3, seen: new HashSet<int> { 1 });
        Assert.Equal(3, counts[0][1]);                              // no penalty: the best
        Assert.Equal(3, counts[1][2]);                              // 3.0 / 1.1 < 2.9
    }

    [Fact]
    public void A_streams_draws_depend_on_its_seed_only_not_on_its_neighbours()
    {
        var rng = new Random(3);
        var logits = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 500).Select(_ => rng.NextDouble() * 4).ToArray()).ToArray();
        var o = new GenerationOptions { Temperature = 1.0, TopP = 0.9 };
        using var scope = NewDisposeScope();
        long[] Draws(double[][] rows, GenerationOptions[] opts, int row)
        {
            var t = tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, 500]);
            var sampling = opts.Select((x, i) => new SamplingRow(x, new HashSet<int>(), new Random(i == row ? 42 : 7 + i))).ToList();
            return Enumerable.Range(0, 50).Select(_ => TensorSampler.Choose(t, sampling)[row]).ToArray();
        }
        var alone = Draws([logits[0]], [o], 0);
        var together = Draws([logits[1], logits[0], logits[2]], [new GenerationOptions { TopK = 5 }, o, new GenerationOptions { Temperature = 0 }], 1);
        Assert.Equal(alone, together);
    }

    [Fact]
    public void Bias_and_presence_and_frequency_penalties_are_added_per_row_as_OpenAI_defines_them()
    {
        using var scope = NewDisposeScope();
        double[] logits = [-1.0, -2.0, -0.5, -3.0];
        var t = tensor(logits.Concat(logits).Concat(logits).ToArray(), [3, 4]);
        var penalised = new GenerationOptions { PresencePenalty = 0.5, FrequencyPenalty = 0.25, LogitBias = new Dictionary<int, double> { [3] = 4.0 } };
        var rows = new List<SamplingRow>
        {
            new(new GenerationOptions(), new HashSet<int> { 0, 2 }, new Random(1), new Dictionary<int, int> { [0] = 3 }), // nothing to add
            new(penalised, new HashSet<int> { 0, 2 }, new Random(2), new Dictionary<int, int> { [0] = 3, [2] = 1 }),
            new(penalised with { LogitBias = new Dictionary<int, double> { [2] = -100 } }, new HashSet<int>(), new Random(3), new Dictionary<int, int>()),
        };
        var adjusted = TensorSampler.Adjust(t, rows).data<double>().ToArray();
        Assert.Equal(logits, adjusted[..4]);
        Assert.Equal([-1.0 - 0.5 - 3 * 0.25, -2.0, -0.5 - 0.5 - 0.25, -3.0 + 4.0], adjusted[4..8], new ToleranceComparer(1e-12));
        Assert.Equal([-1.0, -2.0, -100.5, -3.0], adjusted[8..], new ToleranceComparer(1e-12));

        // Greedy rows pick from the adjusted logits: the bias of -100 takes the best token out, the +4 bias puts token 3 first.
        var greedy = rows.Select(r => r with { Options = r.Options with { Temperature = 0 } }).ToList();
        Assert.Equal([2L, 3L, 0L], TensorSampler.Choose(t, greedy));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}
