using RnnLmService.Core.Inference;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

public sealed class AdaptiveSoftmaxTests
{
    private static ModelOptions Adaptive(params int[] cutoffs) =>
        new() { EmbeddingSize = 12, HiddenSize = 16, Layers = 1, Dropout = 0, AdaptiveSoftmaxCutoffs = cutoffs, AdaptiveSoftmaxDivValue = 2 };

    [Fact]
    public void Log_probabilities_sum_to_one_over_the_vocabulary_for_random_hidden_states()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var model = new RnnLanguageModel(50, Adaptive(5, 20, 35));
        var hidden = randn(9, 16) * 3;                                     // (N, H)
        var lp = model.LogProbs(hidden);                                   // (N, V)
        Assert.Equal([9L, 50L], lp.shape);
        var logZ = lp.to_type(ScalarType.Float64).logsumexp(1).data<double>().ToArray();
        Assert.All(logZ, z => Assert.Equal(0.0, z, 5));
        // Not a degenerate distribution: the rows differ and the tail clusters get mass.
        Assert.True(lp.narrow(1, 35, 15).exp().sum().item<float>() > 1e-3);
    }

    [Fact]
    public void Target_log_probabilities_equal_the_gathered_full_log_probabilities()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var model = new RnnLanguageModel(40, Adaptive(4, 12));
        var hidden = randn(40, 16);
        var targets = arange(40, dtype: ScalarType.Int64).flip(0);       // every id once: head and both tails
        var picked = model.TargetLogProbs(hidden, targets).data<float>().ToArray();
        var full = model.LogProbs(hidden).gather(1, targets.unsqueeze(1)).squeeze(1).data<float>().ToArray();
        for (var i = 0; i < picked.Length; i++) Assert.Equal(full[i], picked[i], 4);
        // Cutoffs at or above the vocabulary size are dropped: [4, 12, 40, 99] over 40 tokens is [4, 12].
        using var capped = new RnnLanguageModel(40, Adaptive(4, 12, 40, 99));
        Assert.Equal(capped.parameters().Sum(p => p.numel()), model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Tied_weights_and_cutoffs_are_refused_naming_the_field()
    {
        var e = Assert.Throws<InvalidSettingException>(() => (Adaptive(5) with { TieWeights = true, EmbeddingSize = 16 }).Validate());
        Assert.Equal("model.tieWeights", e.Field);
        Assert.Equal("model.adaptiveSoftmaxCutoffs", Assert.Throws<InvalidSettingException>(() => Adaptive(10, 10).Validate()).Field);
        Assert.Equal("model.adaptiveSoftmaxCutoffs", Assert.Throws<InvalidSettingException>(() => new RnnLanguageModel(8, Adaptive(8, 20))).Field);
    }

    [Fact]
    public void A_tiny_model_learns_with_it_and_answers_the_same_after_save_and_load()
    {
        var spec = TinyCorpora.SmallSpec(epochs: 4) with { Model = TinyCorpora.SmallSpec().Model with { AdaptiveSoftmaxCutoffs = new[] { 8, 16 } } };
        var losses = new List<double>();
        using var dir = new TempDir();
        using (var result = TinyCorpora.Train(spec, TinyCorpora.CycleSplits(), progress: p => losses.Add(p.Loss), reportEvery: 5))
        {
            Assert.True(losses[^1] < losses[0] * 0.5, $"loss went from {losses[0]:F3} to {losses[^1]:F3}");
            Assert.InRange(result.Metrics.TestPerplexity, 1.0, 3.0); // 26 tokens: a uniform guess scores 26
            ModelArtifacts.Save(dir.Sub("m/1"), "m", 1, result);
        }
        var manifest = ModelArtifacts.ReadManifest(dir.Sub("m/1"));
        Assert.Equal([8, 16], manifest.Architecture.AdaptiveSoftmaxCutoffs!);

        using var a = LanguageModel.Load(dir.Sub("m/1"));
        using var b = LanguageModel.Load(dir.Sub("m/1"));
        var query = new NextWordQuery("w03 w04", TopK: a.Vocabulary.Count);
        var first = a.NextWord(query);
        Assert.Equal("w05", first.Top[0].Word);
        Assert.Equal(1.0, first.Top.Sum(w => w.Probability), 1e-4);
        var second = b.NextWord(query);
        Assert.Equal(first.Top.Select(w => (w.Word, w.LogProbability)), second.Top.Select(w => (w.Word, w.LogProbability)));
        // Scoring gathers the target log-probabilities without the full matrix; they agree with next-word's.
        var score = a.Score("w03 w04 w05");
        Assert.Equal(first.Top[0].LogProbability, score.Tokens[2].LogProbability, 4);
    }
}
