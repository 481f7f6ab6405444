using RnnLmService.Core.Inference;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>
/// Last-position, chunked and cached reading against the old full decoding, recomputed here with plain TorchSharp:
/// the whole (T, V) logits of a context through the network's forward, then log-softmax in double precision.
/// </summary>
public sealed class DecodingTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    private const double Tolerance = 1e-5;

    private LanguageModel Model => fixture.Model;

    /// <summary>The reference: every position decoded, log-softmax over each row, (T, V).</summary>
    private static double[][] FullDecoding(LanguageModel model, string text)
    {
        long[] ids = [model.Vocabulary.EosId, .. model.Vocabulary.Encode(model.TokensOf(text))];
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var net = model.Network;
        var (logits, _) = net.call(tensor(ids, [ids.Length, 1]), net.InitialState(1));       // (T, 1, V)
        var lp = logits.squeeze(1).to_type(ScalarType.Float64).log_softmax(-1);
        return Enumerable.Range(0, ids.Length).Select(t => lp[t].data<double>().ToArray()).ToArray();
    }

    private static string LongContext(int characters)
    {
        var words = new List<string>();
        for (var i = 0; string.Join(' ', words).Length < characters - 4; i++) words.Add($"w{i % 24:00}");
        words.RemoveAt(words.Count - 1);
        return string.Join(' ', words);
    }

    private static void AssertSameDistribution(double[] expected, NextWordResult actual)
    {
        Assert.Equal(expected.Length, actual.Top.Count);
        var order = Enumerable.Range(0, expected.Length).OrderByDescending(i => expected[i]).ToList();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[order[i]], actual.Top[i].LogProbability, Tolerance);
        Assert.Equal(-expected.Sum(l => Math.Exp(l) * l), actual.Entropy, Tolerance);
    }

    [Fact]
    public void Last_position_and_chunked_next_word_equal_full_decoding_in_a_mixed_batch()
    {
        using var chunked = LanguageModel.Load(fixture.ModelDirectory, new InferenceLimits(ChunkTokens: 3));
        var contexts = new[] { "w01", "w01 w02 w03 w04 w05 w06 w07", "w10 w11\nw15", "w20 w21 w22 w23\nw00 w01 w02" };
        var v = Model.Vocabulary.Count;
        foreach (var m in new[] { Model, chunked })
        {
            var batch = m.NextWordBatch(contexts.Select(c => new NextWordQuery(c, TopK: v)).ToList());
            for (var i = 0; i < contexts.Length; i++) AssertSameDistribution(FullDecoding(m, contexts[i])[^1], batch[i]);
        }
    }

    [Fact]
    public void A_20000_character_context_batched_with_short_ones_answers_as_alone_and_as_full_decoding()
    {
        using var model = LanguageModel.Load(fixture.ModelDirectory, new InferenceLimits(ChunkTokens: 512, ScoreChunkElements: 20_000));
        var longText = LongContext(20_000);
        Assert.InRange(longText.Length, 19_990, 20_000);
        var v = model.Vocabulary.Count;
        var queries = new[] { "w03 w04", longText, "w17" }.Select(c => new NextWordQuery(c, TopK: v)).ToList();
        var batch = model.NextWordBatch(queries);
        var alone = model.NextWord(queries[1]);
        AssertSameDistribution(FullDecoding(model, longText)[^1], batch[1]);
        for (var i = 0; i < v; i++) Assert.Equal(alone.Top[i].LogProbability, batch[1].Top[i].LogProbability, Tolerance);
        AssertSameDistribution(FullDecoding(model, "w03 w04")[^1], batch[0]);

        var scores = model.ScoreBatch(["w05 w06", longText]);
        var scoreAlone = model.Score(longText);
        Assert.Equal(scoreAlone.TotalLogProbability, scores[1].TotalLogProbability, 1e-3); // a sum of ~4,000 terms
        foreach (var (a, b) in scoreAlone.Tokens.Zip(scores[1].Tokens)) Assert.Equal(a.LogProbability, b.LogProbability, Tolerance);
    }

    [Fact]
    public void Chunked_scoring_gives_log_probability_rank_entropy_and_alternatives_of_full_decoding()
    {
        var v = Model.Vocabulary.Count;
        using var chunked = LanguageModel.Load(fixture.ModelDirectory, new InferenceLimits(ScoreChunkElements: v)); // one position per chunk
        const string text = "w05 w06 w09 zebra w08\nw20 w21";
        var full = FullDecoding(Model, text);
        var tokens = Model.TokensOf(text);
        long[] ids = Model.Vocabulary.Encode(tokens);
        foreach (var m in new[] { Model, chunked })
        {
            var score = m.Score(text, topK: 3);
            Assert.Equal(tokens, score.Tokens.Select(t => t.Token));
            for (var t = 0; t < tokens.Count; t++)
            {
                var row = full[t];
                var target = (int)ids[t];
                var s = score.Tokens[t];
                Assert.Equal(row[target], s.LogProbability, Tolerance);
                Assert.Equal(1 + row.Count(l => l > row[target]), s.Rank);
                Assert.Equal(-row.Sum(l => Math.Exp(l) * l), s.Entropy, Tolerance);
                var top = Enumerable.Range(0, v).OrderByDescending(i => row[i]).Take(3).ToList();
                Assert.Equal(top.Select(i => Model.Vocabulary[i]), s.Alternatives!.Select(a => a.Word));
                for (var k = 0; k < 3; k++) Assert.Equal(row[top[k]], s.Alternatives![k].LogProbability, Tolerance);
                Assert.Equal(tokens[t] != "zebra", s.Known);
            }
        }
        Assert.Empty(Model.Score(text).Tokens[0].Alternatives!);
        Assert.True(Model.Score(text).Tokens.Single(t => t.Token == "w06").Rank == 1); // learnt: w05 → w06
    }

    [Fact]
    public void Cached_answers_equal_uncached_ones_and_an_extension_by_k_tokens_costs_k_steps()
    {
        using var cached = LanguageModel.Load(fixture.ModelDirectory, new InferenceLimits(StateCacheBytes: 1 << 20));
        var v = cached.Vocabulary.Count;
        var first = cached.NextWord(new NextWordQuery("w01 w02 w03", TopK: v));
        Assert.Equal(0, cached.Cache.Hits);
        Assert.Equal(1, cached.Cache.Misses);

        var before = cached.StepsRun;
        var extended = cached.NextWord(new NextWordQuery("w01 w02 w03 w04 w05", TopK: v));
        Assert.Equal(2, cached.StepsRun - before);                    // two new tokens, two steps
        Assert.Equal(1, cached.Cache.Hits);
        AssertSameDistribution(FullDecoding(Model, "w01 w02 w03 w04 w05")[^1], extended);

        before = cached.StepsRun;
        var again = cached.NextWord(new NextWordQuery("w01 w02 w03", TopK: v));
        Assert.Equal(0, cached.StepsRun - before);                    // read before: no step at all
        for (var i = 0; i < v; i++) Assert.Equal(first.Top[i].LogProbability, again.Top[i].LogProbability, Tolerance);

        // A generation whose prompt was read starts from its state, and produces what an uncached model does.
        before = cached.StepsRun;
        var options = new GenerationOptions { MaxTokens = 5, Temperature = 1.0, Seed = 9, StopAtEos = false };
        using var g = cached.Generate("w01 w02 w03 w04 w05", options);
        Assert.Equal(4, cached.StepsRun - before);                    // only the 4 tokens fed back
        using var reference = Model.Generate("w01 w02 w03 w04 w05", options);
        Assert.Equal(reference.Text, g.Text);
    }
}
