using System.Globalization;
using System.Text.RegularExpressions;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.Endpoints;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Serving;

public class BatchingFactory : TinyModelFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["RnnLm:Serving:MaxBatchSize"] = "32",
        ["RnnLm:Serving:MaxBatchWait"] = "00:00:00.020",
    };
}

public partial class BatchingTests(BatchingFactory factory) : IClassFixture<BatchingFactory>
{
    private static readonly string[] Words = ["the", "old", "cat", "saw", "a", "bright", "ball", "in", "garden", "and", "slept", "one", "day", "fox", "ran", "."];

    private static string Text(int i) =>
        string.Join(' ', Enumerable.Range(0, 1 + i % 13).Select(j => Words[(i * 7 + j * 3) % Words.Length]));

    [Fact]
    public async Task Sixty_four_parallel_requests_are_batched_and_answer_exactly_like_one_at_a_time()
    {
        await factory.AddModelAsync("batchy");
        using var client = factory.CreateClient();
        var indices = Enumerable.Range(0, 64).ToList();

        Task<NextWordResponse> NextWord(int i) => client.PostJsonAsync("/api/models/batchy/next-word",
            new { context = Text(i), topK = 5, candidates = new[] { "cat", "garden" } }).ContinueWith(t => InferenceApiTests.Ok<NextWordResponse>(t.Result)).Unwrap();
        Task<ScoreResponse> Score(int i) => client.PostJsonAsync("/api/models/batchy/score", new { text = Text(i + 5) })
            .ContinueWith(t => InferenceApiTests.Ok<ScoreResponse>(t.Result)).Unwrap();

        var single = new List<NextWordResponse>();
        var singleScores = new List<ScoreResponse>();
        foreach (var i in indices)
        {
            single.Add(await NextWord(i));
            singleScores.Add(await Score(i));
        }

        var batched = await Task.WhenAll(indices.Select(i => Task.Run(() => NextWord(i))));
        var batchedScores = await Task.WhenAll(indices.Select(i => Task.Run(() => Score(i))));

        foreach (var i in indices)
        {
            Assert.Equal(single[i].Words.Select(w => w.Word), batched[i].Words.Select(w => w.Word));
            foreach (var (a, b) in single[i].Words.Zip(batched[i].Words))
                Assert.Equal(a.LogProbability, b.LogProbability, 1e-5);
            foreach (var (a, b) in single[i].Candidates.Zip(batched[i].Candidates))
                Assert.Equal(a.LogProbability, b.LogProbability, 1e-5);
            Assert.Equal(single[i].Entropy, batched[i].Entropy, 1e-5);
            Assert.Equal(singleScores[i].Tokens.Count, batchedScores[i].Tokens.Count);
            foreach (var (a, b) in singleScores[i].Tokens.Zip(batchedScores[i].Tokens))
                Assert.Equal(a.LogProbability, b.LogProbability, 1e-5);
        }

        var metrics = await client.GetStringAsync("/metrics");
        foreach (var operation in new[] { "next-word", "score" })
        {
            var ones = Sample(metrics, "rnnlm_inference_batch_size_bucket", operation, "le=\"1\"");
            var count = Sample(metrics, "rnnlm_inference_batch_size_count", operation, null);
            var sum = Sample(metrics, "rnnlm_inference_batch_size_sum", operation, null);
            // prometheus-net's registry is process-wide, so only ratios are compared (other test hosts share it).
            Assert.True(count - ones > 0, $"{operation}: no batch larger than one formed ({count} batches, {ones} of size 1)");
            Assert.True(count < sum, $"{operation}: {count} batches for {sum} requests");
        }
    }

    private static double Sample(string metrics, string name, string operation, string? extra)
    {
        foreach (Match m in SampleLine().Matches(metrics))
        {
            if (m.Groups["name"].Value != name) continue;
            var labels = m.Groups["labels"].Value;
            if (!labels.Contains("model=\"batchy@1\"") || !labels.Contains($"operation=\"{operation}\"")) continue;
            if (extra is not null && !labels.Contains(extra)) continue;
            return double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        throw new Xunit.Sdk.XunitException($"{name} for {operation} not found in /metrics");
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}
