using RnnLmService.Core.Inference;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>Interpretability on tiny models whose weights the tests set: recomputed internals, occlusion, gradient × input, neighbours.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class ExplainerTests
{
    private static readonly string[] Words = ["<unk>", "<eos>", "a", "b", "c", "d", "e", "f"];

    private static LanguageModel Tiny(CellType cell, int layers = 2, Action<RnnLanguageModel>? edit = null, bool lockedDropout = false)
    {
        torch.manual_seed(11);
        var options = new ModelOptions { CellType = cell, EmbeddingSize = 6, HiddenSize = 5, Layers = layers, Dropout = 0.3, LockedDropout = lockedDropout };
        var net = new RnnLanguageModel(Words.Length, options);
        using (no_grad())
        {
            // Larger recurrent weights than the default init, so that every step really depends on the last one.
            foreach (var (name, p) in net.named_parameters())
                if (name.StartsWith("rnn", StringComparison.Ordinal) || name == "encoder.weight") p.mul_(name == "encoder.weight" ? 10.0 : 3.0);
        }
        edit?.Invoke(net);
        var manifest = new ModelManifest
        {
            Name = "tiny", Version = 1, Architecture = options, VocabularySize = Words.Length,
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word }, Training = new TrainingOptions(), Metrics = new TrainingMetrics(),
        };
        var tokenizerOptions = new TokenizerOptions { Kind = TokenizerKind.Word };
        return new LanguageModel(manifest, net, Vocabulary.FromTokens(Words), Tokenizers.Create(tokenizerOptions));
    }

    [Theory]
    [InlineData(CellType.Lstm, false)]
    [InlineData(CellType.Gru, false)]
    [InlineData(CellType.RnnTanh, false)]
    [InlineData(CellType.Lstm, true)]     // one module per layer (format 2, locked dropout): the same recomputation
    [InlineData(CellType.Gru, true)]
    public void Recomputed_layers_equal_the_fused_rnn(CellType cell, bool lockedDropout)
    {
        using var model = Tiny(cell, lockedDropout: lockedDropout);
        long[] ids = [1, 2, 3, 4, 2, 5, 6, 7, 3];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (fused, state) = model.Network.call(tensor(ids, [ids.Length, 1]), model.Network.InitialState(1));   // (T, 1, V)
        var internals = new RnnInternals(model.Network);
        var trace = internals.Run(internals.Embed(ids));

        AssertClose(fused.squeeze(1), trace.Logits!, 1e-5);
        for (var k = 0; k < 2; k++)
        {
            AssertClose(state.H[k, 0], trace.Layers[k].Hidden[-1], 1e-5);           // the fused state is the last step of each layer
            if (cell == CellType.Lstm) AssertClose(state.C![k, 0], trace.Layers[k].Cell![-1], 1e-5);
        }
        var gates = trace.Layers[0].Gates;
        Assert.Equal(RnnInternals.GateNames(cell), gates.Keys);
        foreach (var g in gates.Values)
        {
            Assert.Equal([ids.Length, 5L], g.shape);
            Assert.True(g.min().item<float>() > 0 && g.max().item<float>() < 1);       // sigmoid gates
        }
    }

    [Fact]
    public void Occluding_a_token_that_cannot_matter_contributes_nothing()
    {
        // One tanh layer with no recurrence: the prediction after "a b c" depends on "c" alone.
        using var model = Tiny(CellType.RnnTanh, layers: 1, edit: net =>
        {
            using var _ = no_grad();
            net.named_parameters().Single(p => p.name == "rnn.weight_hh_l0").parameter.zero_();
        });
        var explanation = Explainer.Explain(model, "a b c", target: "d");

        Assert.Equal(["a", "b", "c"], explanation.Tokens.Select(t => t.Token));
        Assert.Equal("d", explanation.Target);
        Assert.False(explanation.TargetWasPredicted);
        Assert.Equal(0, explanation.Tokens[0].Occlusion, 6);
        Assert.Equal(0, explanation.Tokens[1].Occlusion, 6);
        Assert.Equal(0, explanation.Tokens[0].GradientTimesInput, 6);
        Assert.True(Math.Abs(explanation.Tokens[2].Occlusion) > 1e-3, "the last token must matter");
        Assert.True(Math.Abs(explanation.Tokens[2].GradientTimesInput) > 1e-3, "the last token must matter");
    }

    [Fact]
    public void Occlusion_equals_the_drop_when_the_word_is_replaced_by_unk()
    {
        using var model = Tiny(CellType.Lstm);
        var explanation = Explainer.Explain(model, "a b c d", target: null);
        Assert.True(explanation.TargetWasPredicted);
        var top = model.NextWord(new NextWordQuery("a b c d", TopK: 1));
        Assert.Equal(top.Top[0].Word, explanation.Target);
        Assert.Equal(top.Top[0].LogProbability, explanation.TargetLogProbability, 4);

        string[] context = ["a", "b", "c", "d"];
        for (var i = 0; i < context.Length; i++)
        {
            var occluded = string.Join(' ', context.Select((w, j) => j == i ? "<unk>" : w));
            var lp = model.NextWord(new NextWordQuery(occluded, TopK: 1, Candidates: [explanation.Target])).Candidates[0].LogProbability;
            Assert.Equal(explanation.TargetLogProbability - lp, explanation.Tokens[i].Occlusion, 4);
        }
    }

    [Fact]
    public void Gradient_times_input_matches_a_finite_difference()
    {
        using var model = Tiny(CellType.Lstm);
        var explanation = Explainer.Explain(model, "a b c d", target: "e");
        long[] ids = [1, 2, 3, 4, 5];
        var target = model.Vocabulary.IdOf("e");
        const double eps = 1e-5;
        var total = 0.0;
        for (var i = 1; i < ids.Length; i++)
        {
            // d/dα log p(target) with embedding i scaled by α, at α = 1, equals ∇_{e_i} log p · e_i.
            var slope = (LogProbWithScaledEmbedding(model, ids, i, 1 + eps, target) - LogProbWithScaledEmbedding(model, ids, i, 1 - eps, target)) / (2 * eps);
            Assert.Equal(slope, explanation.Tokens[i - 1].GradientTimesInput, 6);
            total += Math.Abs(slope);
        }
        Assert.True(total > 1e-2, "the finite differences should not be trivially 0");
    }

    [Fact]
    public void Neighbours_include_a_word_given_the_same_embedding()
    {
        using var model = Tiny(CellType.Lstm, edit: net =>
        {
            using var _ = no_grad();
            var emb = net.named_parameters().Single(p => p.name == "encoder.weight").parameter;
            emb[5].copy_(emb[2] * 2.5);                                                 // "d" points exactly where "a" does
        });
        var neighbours = Explainer.Neighbours(model, "a", 3);
        Assert.Equal("d", neighbours[0].Word);
        Assert.Equal(1.0, neighbours[0].Cosine, 6);
        Assert.DoesNotContain(neighbours, n => n.Word == "a");
        Assert.True(neighbours[1].Cosine <= neighbours[0].Cosine && neighbours[2].Cosine <= neighbours[1].Cosine);

        Assert.Equal("word", Assert.Throws<InvalidSettingException>(() => Explainer.Neighbours(model, "zebra", 3)).Field);
        Assert.Equal("k", Assert.Throws<InvalidSettingException>(() => Explainer.Neighbours(model, "a", 0)).Field);
    }

    [Fact]
    public void Activations_report_the_layers_state_and_the_most_varying_units()
    {
        using var model = Tiny(CellType.Lstm);
        var trace = Explainer.Activations(model, new ActivationQuery("a b c d e", Layer: 0, Units: [1, 3]));
        Assert.Equal(["a", "b", "c", "d", "e"], trace.Tokens);
        Assert.Equal([1, 3], trace.Units.Select(u => u.Unit));
        Assert.All(trace.Units, u => { Assert.Equal(5, u.Hidden.Count); Assert.Equal(5, u.Cell!.Count); });

        using (NewDisposeScope())
        using (no_grad())
        {
            var (_, state) = model.Network.call(tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [6, 1]), model.Network.InitialState(1));
            Assert.Equal(state.H[0, 0, 3].item<float>(), trace.Units[1].Hidden[^1], 5);
            Assert.Equal(state.C![0, 0, 1].item<float>(), trace.Units[0].Cell![^1], 5);
        }
        Assert.Equal(2, trace.GateMeans.Count);
        Assert.Equal(["input", "forget", "output"], trace.GateMeans[0].Keys);
        Assert.All(trace.GateMeans.SelectMany(g => g.Values), v => Assert.InRange(v, 0, 1));
        Assert.Equal(5, trace.MostVarying.Count);
        Assert.True(trace.MostVarying.Zip(trace.MostVarying.Skip(1)).All(p => p.First.StandardDeviation >= p.Second.StandardDeviation));

        var defaults = Explainer.Activations(model, new ActivationQuery("a b c", Layer: null, Units: null, Top: 3));
        Assert.Equal(1, defaults.Layer);
        Assert.Equal(defaults.MostVarying.Select(v => v.Unit), defaults.Units.Select(u => u.Unit));
        Assert.Equal("layer", Assert.Throws<InvalidSettingException>(() => Explainer.Activations(model, new ActivationQuery("a", 2, null))).Field);
        Assert.Equal("units", Assert.Throws<InvalidSettingException>(() => Explainer.Activations(model, new ActivationQuery("a", 0, [5]))).Field);
    }

    private static double LogProbWithScaledEmbedding(LanguageModel model, long[] ids, int position, double scale, long target)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var internals = new RnnInternals(model.Network, ScalarType.Float64);
        var embedded = internals.Embed(ids).clone();
        embedded[position].mul_(scale);
        return internals.Run(embedded).Logits![-1].log_softmax(-1)[target].item<double>();
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        var gap = (expected - actual).abs().max().item<float>();
        Assert.True(gap < tolerance, $"largest difference {gap}");
    }
}
