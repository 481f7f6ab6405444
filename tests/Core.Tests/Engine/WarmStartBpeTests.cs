using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using RnnLmService.Tests.Shared;

namespace RnnLmService.Core.Tests.Engine;

[Collection(SerialTorchCollection.Name)]
public sealed class WarmStartBpeTests
{
    [Fact]
    public void A_bpe_adaptive_softmax_parent_reads_new_words_as_its_subwords_before_and_after_a_resume()
    {
        using var dir = new TempDir();
        var parentDir = dir.Sub("models/parent/1");
        var parentSpec = TinyCorpora.SmallSpec(epochs: 2) with
        {
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 280 },
            Model = TinyCorpora.SmallSpec().Model with { AdaptiveSoftmaxCutoffs = new[] { 12, 40 } },
        };
        using (var parent = TinyCorpora.Train(parentSpec, TinyCorpora.CycleSplits()))
            ModelArtifacts.Save(parentDir, "parent", 1, parent);
        var (manifest, model, vocabulary) = ModelArtifacts.Load(parentDir);
        Assert.Equal(ModelManifest.CurrentFormatVersion, manifest.FormatVersion);
        var parentMerges = ((BpeTokenizer)ModelArtifacts.ReadTokenizer(parentDir, manifest)).Merges.Merges;

        // New text with words the parent never saw: they become the parent's subwords, never <unk>.
        var splits = new CorpusSplits(
            CycleLanguage.Text(60, 21) + string.Concat(Enumerable.Repeat("w03 zyxelqu w04 zyxelqu qorvex\n", 150)), CycleLanguage.Text(20, 22) + "zyxelqu w05 qorvex\n", CycleLanguage.Text(20, 23));
        // Merges learnt from the new text differ from the parent's, so a run that relearnt them would be caught below.
        Assert.NotEqual(parentMerges, ((BpeTokenizer)Tokenizers.ForTraining(manifest.Tokenizer, splits.Train)).Merges.Merges);
        var spec = TinyCorpora.SmallSpec(epochs: 1) with { Init = "parent@1", Tokenizer = manifest.Tokenizer, Model = manifest.Architecture };
        double parentValidPpl;
        using (model)
        {
            var encoded = Corpus.Encode(splits, ModelArtifacts.ReadTokenizer(parentDir, manifest), vocabulary);
            Assert.DoesNotContain((long)vocabulary.UnkId, encoded.Valid);
            parentValidPpl = Math.Exp(Evaluator.MeanLoss(model, encoded.Valid, spec.Training.EvalBatchSize, spec.Training.Bptt, "valid"));
        }

        // Stopped part-way, then resumed after the parent is gone: the checkpoint keeps the parent's merges.
        using var checkpoints = new TempDir();
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => new Trainer(spec).Run(splits, new TrainingRunContext
        {
            CheckpointDirectory = checkpoints.Path, CheckpointOnCancel = true, ReportEverySteps = 1, TorchThreads = 1,
            Cancellation = cts.Token, WarmStart = ModelArtifacts.ReadWarmStart(parentDir, "parent@1"),
            Progress = p => { if (p.Kind == ProgressKind.Step && p.GlobalStep >= 3) cts.Cancel(); },
        }));
        Directory.Delete(parentDir, recursive: true);
        using var child = new Trainer(spec).Run(splits, new TrainingRunContext { CheckpointDirectory = checkpoints.Path, Resume = true, TorchThreads = 1 });

        // The first validation was the parent's, to the last digit; the tokenizer, vocabulary and architecture are its own.
        Assert.Equal(parentValidPpl, child.Metrics.InitialValidPerplexity!.Value, 9);
        Assert.Equal(parentMerges, ((BpeTokenizer)child.Tokenizer).Merges.Merges);
        Assert.Equal(vocabulary.Tokens, child.Vocabulary.Tokens);
        Assert.True(child.Model.Options.IsAdaptive);

        // The child's model (format 3) carries the parent's merges and names its parent.
        var childDir = dir.Sub("models/child/1");
        var saved = ModelArtifacts.Save(childDir, "child", 1, child);
        Assert.Equal(("parent@1", manifest.FormatVersion), (saved.Parent, saved.FormatVersion));
        Assert.Equal(parentMerges, ((BpeTokenizer)ModelArtifacts.ReadTokenizer(childDir, saved)).Merges.Merges);
    }
}
