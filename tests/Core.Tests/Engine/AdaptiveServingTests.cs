using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>
/// An adaptive-softmax model trained with the AWD options on (locked dropout with its per-layer modules, weight drop,
/// embedding dropout, AR/TAR), saved and loaded: the model every serving path below reads.
/// </summary>
public sealed class AdaptiveAwdModelFixture : IDisposable
{
    private readonly TempDir dir = new();

    public AdaptiveAwdModelFixture()
    {
        var small = TinyCorpora.SmallSpec(epochs: 4);
        var spec = small with
        {
            Model = small.Model with
            {
                Layers = 2, Dropout = 0.1, WeightDrop = 0.2, EmbeddingDropout = 0.05, LockedDropout = true, OutputDropout = 0.2,
                AdaptiveSoftmaxCutoffs = new[] { 6, 14 }, AdaptiveSoftmaxDivValue = 2,
            },
            Training = small.Training with { ActivationRegularization = 1, TemporalActivationRegularization = 1 },
        };
        using var result = TinyCorpora.Train(spec, TinyCorpora.CycleSplits());
        ModelDirectory = dir.Sub("models/adaptive/1");
        ModelArtifacts.Save(ModelDirectory, "adaptive", 1, result);
        Model = LanguageModel.Load(ModelDirectory);
    }

    public string ModelDirectory { get; }
    public LanguageModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        dir.Dispose();
    }
}

/// <summary>
/// Every serving path of an adaptive-softmax model against its full decoding (the whole (T, V) distribution of a
/// context through the network's forward): last-position next-word in a batch, chunked reading, chunked scoring with
/// ranks and alternatives, the state cache, batched generation with tensor-side sampling, and the step-by-step
/// recomputation of the interpretability code.
/// </summary>
public sealed class AdaptiveServingTests(AdaptiveAwdModelFixture fixture) : IClassFixture<AdaptiveAwdModelFixture>
{
    private const double Tolerance = 1e-5;

    private LanguageModel Model => fixture.Model;

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

    [Fact]
    public void The_model_is_adaptive_with_per_layer_modules_and_written_as_format_3()
    {
        Assert.True(Model.Network.Options.IsAdaptive && Model.Network.Options.LockedDropout);
        var names = Model.Network.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("adaptive.tail.1.1.weight", names);
        Assert.Contains("rnns.1.weight_hh_l0", names);
        Assert.DoesNotContain(names, n => n.StartsWith("decoder.", StringComparison.Ordinal));
        Assert.Equal(3, Model.Manifest.FormatVersion);
        Assert.Equal("w05", Model.NextWord(new NextWordQuery("w03 w04", TopK: 1)).Top[0].Word);   // it learnt the cycle
    }

    [Fact]
    public void Batched_and_chunked_next_word_equal_full_decoding_and_sum_to_one()
    {
        using var chunked = LanguageModel.Load(fixture.ModelDirectory, new InferenceLimits(ChunkTokens: 2));
        var contexts = new[] { "w01", "w01 w02 w03 w04 w05 w06 w07", "w10 w11\nw15" };
        var v = Model.Vocabulary.Count;
        foreach (var m in new[] { Model, chunked })
        {
            var batch = m.NextWordBatch(contexts.Select(c => new NextWordQuery(c, TopK: v, Candidates: ["w02", "w16"])).ToList());
            for (var i = 0; i < contexts.Length; i++)
            {
                var expected = FullDecoding(m, contexts[i])[^1];
                Assert.Equal(1.0, batch[i].Top.Sum(w => w.Probability), 1e-6);
                foreach (var w in batch[i].Top) Assert.Equal(expected[m.Vocabulary.IdOf(w.Word)], w.LogProbability, Tolerance);
                Assert.Equal(expected[m.Vocabulary.IdOf("w16")], batch[i].Candidates[1].LogProbability, Tolerance);
                Assert.Equal("token", batch[i].Completion);
            }
        }
    }

    [Fact]
    public void Chunked_scoring_gives_the_log_probability_rank_and_alternatives_of_full_decoding()
    {
        var v = Model.Vocabulary.Count;
        using var chunked = LanguageModel.Load(fixture.ModelDirectory, new InferenceLimits(ScoreChunkElements: v)); // one position per chunk
        const string text = "w05 w06 w09 zebra w08\nw20 w21";
        var full = FullDecoding(Model, text);
        long[] ids = Model.Vocabulary.Encode(Model.TokensOf(text));
        foreach (var m in new[] { Model, chunked })
        {
            var score = m.Score(text, topK: 2);
            for (var t = 0; t < ids.Length; t++)
            {
                var row = full[t];
                Assert.Equal(row[ids[t]], score.Tokens[t].LogProbability, Tolerance);
                Assert.Equal(1 + row.Count(l => l > row[ids[t]]), score.Tokens[t].Rank);
                var best = Enumerable.Range(0, v).MaxBy(i => row[i]);
                Assert.Equal(Model.Vocabulary[best], score.Tokens[t].Alternatives![0].Word);
            }
        }
    }

    [Fact]
    public void Cached_contexts_cost_only_their_new_tokens_and_answer_as_uncached()
    {
        using var cached = LanguageModel.Load(fixture.ModelDirectory, new InferenceLimits(StateCacheBytes: 1 << 20));
        var v = cached.Vocabulary.Count;
        cached.NextWord(new NextWordQuery("w01 w02 w03", TopK: 1));
        var before = cached.StepsRun;
        var extended = cached.NextWord(new NextWordQuery("w01 w02 w03 w04 w05", TopK: v));
        Assert.Equal(2, cached.StepsRun - before);
        var expected = FullDecoding(Model, "w01 w02 w03 w04 w05")[^1];
        foreach (var w in extended.Top) Assert.Equal(expected[cached.Vocabulary.IdOf(w.Word)], w.LogProbability, Tolerance);
    }

    [Fact]
    public void Streams_sampled_together_on_the_tensor_side_match_streams_alone_and_full_decoding()
    {
        var o = new GenerationOptions { MaxTokens = 6, Temperature = 1.0, Seed = 3, StopAtEos = false };
        using var alone1 = Model.Generate("w01 w02", o);
        using var alone2 = Model.Generate("w15", o with { Seed = 4 });
        using var s1 = Model.StartGeneration("w01 w02", o);
        using var s2 = Model.StartGeneration("w15", o with { Seed = 4 });
        while (s1.Finish is null || s2.Finish is null) Model.Step([s1, s2]);
        Assert.Equal(alone1.Text, s1.Text);
        Assert.Equal(alone2.Text, s2.Text);
        // Each drawn token's log-probability is the full distribution's after the prompt and the tokens before it.
        var generated = string.Join(' ', s1.Tokens.Select(t => t.Token));
        var full = FullDecoding(Model, "w01 w02 " + generated);
        for (var i = 0; i < s1.Tokens.Count; i++)
            Assert.Equal(full[2 + i][Model.Vocabulary.IdOf(s1.Tokens[i].Token)], s1.Tokens[i].LogProbability, Tolerance);
    }

    [Fact]
    public void The_interpretability_recomputation_gives_the_same_distributions()
    {
        const string text = "w03 w04 w05 w06";
        long[] ids = [Model.Vocabulary.EosId, .. Model.Vocabulary.Encode(Model.TokensOf(text))];
        var full = FullDecoding(Model, text);
        using var scope = NewDisposeScope();
        var internals = new RnnInternals(Model.Network, ScalarType.Float64);
        var lp = internals.Run(internals.Embed(ids)).Logits!.log_softmax(-1);                  // (T, V)
        for (var t = 0; t < ids.Length; t++)
        {
            var row = lp[t].data<double>().ToArray();
            for (var i = 0; i < row.Length; i++) Assert.Equal(full[t][i], row[i], 1e-4);
        }
    }
}
