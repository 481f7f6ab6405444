using RnnLmService.Core.Inference;

namespace RnnLmService.Core.Tests.Engine;

public sealed class LearningTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    [Fact]
    public void Learns_the_deterministic_language_to_95_percent_top1()
    {
        // After a line's first word, every next token is determined: the next word, or <eos> after w23.
        var queries = new List<(NextWordQuery Query, string Expected)>();
        foreach (var line in fixture.Splits.Test.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split(' ').Append("<eos>").ToArray();
            for (var i = 1; i < words.Length; i++)
                queries.Add((new NextWordQuery(string.Join(' ', words[..i]), TopK: 1), words[i]));
        }
        var answers = fixture.Model.NextWordBatch(queries.Select(q => q.Query).ToList());
        var hits = answers.Zip(queries).Count(p => p.First.Top[0].Word == p.Second.Expected);
        var accuracy = (double)hits / queries.Count;
        Assert.True(queries.Count > 200, $"only {queries.Count} positions");
        Assert.True(accuracy >= 0.95, $"top-1 accuracy {accuracy:P1} on {queries.Count} positions");
    }

    [Fact]
    public void Test_perplexity_is_far_below_a_uniform_guess()
    {
        // 24 words + <eos>: a uniform model scores ~26; only each line's first word is uncertain (1 in 22).
        Assert.InRange(fixture.Metrics.TestPerplexity, 1.0, 2.0);
        Assert.Equal(6, fixture.Metrics.Epochs);
        Assert.Equal(6, fixture.Metrics.ValidPerplexityHistory.Count);
        Assert.Equal(fixture.Metrics.BestValidPerplexity, fixture.Metrics.ValidPerplexityHistory.Min(), 9);
        Assert.True(fixture.Metrics.TokensPerSecond > 0);
    }

    [Fact]
    public void Probabilities_of_the_whole_vocabulary_sum_to_one()
    {
        var v = fixture.Model.Vocabulary.Count;
        var result = fixture.Model.NextWord(new NextWordQuery("w03 w04", TopK: v));
        Assert.Equal(v, result.Top.Count);
        Assert.Equal(1.0, result.Top.Sum(w => w.Probability), 1e-4);
        Assert.Equal(v, result.Top.Select(w => w.Word).Distinct().Count());
        // Sorted, and log-probabilities agree with probabilities.
        Assert.True(result.Top.Zip(result.Top.Skip(1)).All(p => p.First.Probability >= p.Second.Probability));
        Assert.All(result.Top, w => Assert.Equal(Math.Log(w.Probability), w.LogProbability, 6));
        var entropy = -result.Top.Sum(w => w.Probability * w.LogProbability);
        Assert.Equal(entropy, result.Entropy, 1e-6);
    }
}
