using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using RnnLmService.Tests.Shared;

namespace RnnLmService.Core.Tests.Engine;

[Collection(SerialTorchCollection.Name)]
public sealed class WarmStartTests
{
    // New text of the same language plus a word the parent never saw (it must read as <unk>).
    private static CorpusSplits NewSplits() => new(
        CycleLanguage.Text(120, 11) + "w03 novel w04\n", CycleLanguage.Text(20, 12) + "novel w05\n", CycleLanguage.Text(20, 13));

    [Fact]
    public void A_warm_start_continues_from_the_parents_weights_and_vocabulary()
    {
        using var dir = new TempDir();
        var parentDir = dir.Sub("models/parent/1");
        using (var parent = TinyCorpora.Train(TinyCorpora.SmallSpec(epochs: 2), TinyCorpora.CycleSplits()))
            ModelArtifacts.Save(parentDir, "parent", 1, parent);

        // What the parent scores on the new validation split, computed here on its own.
        var splits = NewSplits();
        var spec = TinyCorpora.SmallSpec(epochs: 1) with { Init = "parent@1" };
        var (manifest, model, vocabulary) = ModelArtifacts.Load(parentDir);
        double parentValidPpl;
        using (model)
        {
            var encoded = Corpus.Encode(splits, Tokenizers.Create(manifest.Tokenizer), vocabulary);
            Assert.Contains((long)vocabulary.UnkId, encoded.Valid); // "novel" is outside the parent's vocabulary
            parentValidPpl = Math.Exp(Evaluator.MeanLoss(model, encoded.Valid, spec.Training.EvalBatchSize, spec.Training.Bptt, "valid"));
        }

        using var child = new Trainer(spec).Run(splits, new TrainingRunContext
        {
            TorchThreads = 1, WarmStart = ModelArtifacts.ReadWarmStart(parentDir, "parent@1"),
        });

        // Its evaluation before the first step is the parent's, to the last digit; a random start is near the vocabulary size.
        Assert.NotNull(child.Metrics.InitialValidPerplexity);
        Assert.Equal(parentValidPpl, child.Metrics.InitialValidPerplexity!.Value, 9);
        Assert.True(parentValidPpl < vocabulary.Count / 3.0, $"parent ppl {parentValidPpl} on {vocabulary.Count} tokens");
        Assert.Equal(vocabulary.Count, child.Vocabulary.Count);
        Assert.False(child.Vocabulary.Contains("novel"));

        // The child's record names its parent.
        var childDir = dir.Sub("models/child/1");
        Assert.Equal("parent@1", ModelArtifacts.Save(childDir, "child", 1, child).Parent);
        Assert.Equal("parent@1", ModelArtifacts.ReadManifest(childDir).Parent);

        // A cold start of the same settings measures no initial perplexity and names no parent.
        using var cold = new Trainer(spec with { Init = null }).Run(splits, new TrainingRunContext { TorchThreads = 1 });
        Assert.Null(cold.Metrics.InitialValidPerplexity);
        Assert.True(cold.Vocabulary.Contains("novel"));
    }

    [Fact]
    public void A_run_whose_architecture_differs_from_its_parent_is_refused_naming_init()
    {
        using var dir = new TempDir();
        var parentDir = dir.Sub("models/parent/1");
        using (var parent = TinyCorpora.Train(TinyCorpora.SmallSpec(epochs: 1), TinyCorpora.CycleSplits()))
            ModelArtifacts.Save(parentDir, "parent", 1, parent);
        var warm = ModelArtifacts.ReadWarmStart(parentDir, "parent@1");
        var spec = TinyCorpora.SmallSpec(epochs: 1) with { Init = "parent@1" };

        var bigger = spec with { Model = spec.Model with { HiddenSize = 48 } };
        var e = Assert.Throws<InvalidSettingException>(() => new Trainer(bigger).Run(NewSplits(), new TrainingRunContext { WarmStart = warm }));
        Assert.Equal("init", e.Field);
        var orphan = Assert.Throws<InvalidSettingException>(() => new Trainer(spec).Run(NewSplits(), new TrainingRunContext()));
        Assert.Equal("init", orphan.Field);
    }
}
