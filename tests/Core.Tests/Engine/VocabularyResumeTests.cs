using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Tests.Engine;

[Collection(SerialTorchCollection.Name)]
public sealed class VocabularyResumeTests
{
    [Fact]
    public void A_bpe_adaptive_softmax_run_stopped_and_resumed_matches_an_uninterrupted_run()
    {
        // BPE merges are relearnt on resume (deterministically) and checked against the checkpoint's vocabulary by use.
        var spec = TinyCorpora.SmallSpec(epochs: 2) with
        {
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 280 },
            Model = TinyCorpora.SmallSpec().Model with { AdaptiveSoftmaxCutoffs = new[] { 12, 40 } },
        };
        var splits = TinyCorpora.CycleSplits();
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        using var full = TinyCorpora.Train(spec, splits, dirA.Path);
        var stopAfter = full.Metrics.Steps * 3 / 4;

        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => TinyCorpora.Train(spec, splits, dirB.Path,
            p => { if (p.Kind == ProgressKind.Step && p.GlobalStep >= stopAfter) cts.Cancel(); }, cts.Token, reportEvery: 1));
        ResumeInfo? resumed = null;
        using var rest = new Trainer(spec).Run(splits, new TrainingRunContext { CheckpointDirectory = dirB.Path, TorchThreads = 1, Resumed = r => resumed = r });

        Assert.NotNull(resumed);
        Assert.Equal(stopAfter, resumed.GlobalStep);

        Assert.Equal(full.Vocabulary.Tokens, rest.Vocabulary.Tokens);
        Assert.Equal(full.Metrics.Steps, rest.Metrics.Steps);
        Assert.Equal(full.Metrics.TestPerplexity, rest.Metrics.TestPerplexity, 3);
        Assert.Equal(full.Metrics.TestBitsPerCharacter, rest.Metrics.TestBitsPerCharacter, 4);
    }
}
