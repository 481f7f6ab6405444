using RnnLmService.Core.Tests.Engine;
using RnnLmService.Core.Text;
using RnnLmService.Core.Text.Prepared;
using RnnLmService.Core.Training;
using TorchSharp;

namespace RnnLmService.Core.Tests.Prepared;

[Collection(SerialTorchCollection.Name)]
public sealed class PreparedTrainingTests
{
    [Theory]
    [InlineData(TokenizerKind.Word)]
    [InlineData(TokenizerKind.Bpe)]
    public void Training_on_memory_mapped_token_files_gives_the_model_and_metrics_of_the_in_memory_path(TokenizerKind kind)
    {
        var splits = TinyCorpora.CycleSplits();
        var spec = TinyCorpora.SmallSpec(epochs: 2, dropout: 0.2) with
        {
            Tokenizer = kind == TokenizerKind.Bpe
                ? new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 270 }
                : new TokenizerOptions { MaxVocabularySize = 12 },
            Model = TinyCorpora.SmallSpec().Model with { AdaptiveSoftmaxCutoffs = new[] { 4, 8 } },   // TargetLogProbs through the clusters
        };
        using var dir = new TempDir();
        PreparedCorpora.Write(dir.Path, splits);

        using var memory = TinyCorpora.Train(spec, splits);
        using var prepared = TokenFiles.Open(new TokenFilePreparer().Prepare(dir.Path, spec.Tokenizer), spec.Tokenizer);
        using var mapped = new Trainer(spec).Run(prepared, new TrainingRunContext { TorchThreads = 1 });

        Assert.Equal(memory.Vocabulary.Tokens, mapped.Vocabulary.Tokens);
        Assert.Equal(memory.Metrics.Steps, mapped.Metrics.Steps);
        Assert.Equal(memory.Metrics.TrainTokens, mapped.Metrics.TrainTokens);
        Assert.Equal(memory.Metrics.ValidPerplexityHistory, mapped.Metrics.ValidPerplexityHistory);
        Assert.Equal(memory.Metrics.TestPerplexity, mapped.Metrics.TestPerplexity);
        Assert.Equal(memory.Metrics.TestCharacters, mapped.Metrics.TestCharacters);
        Assert.Equal(memory.Metrics.TestWords, mapped.Metrics.TestWords);
        Assert.True(mapped.Metrics.TestCharacters > mapped.Metrics.TestWords && mapped.Metrics.TestWords > 0);
        Assert.Equal(memory.Metrics.TestBitsPerCharacter, mapped.Metrics.TestBitsPerCharacter);
        Assert.Equal(memory.Metrics.TestWordPerplexity, mapped.Metrics.TestWordPerplexity);
        var a = memory.Model.state_dict();
        var b = mapped.Model.state_dict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var name in a.Keys) Assert.True(a[name].eq(b[name]).all().item<bool>(), $"{name} differs");
    }

    [Fact]
    public void A_run_on_token_files_resumes_from_its_checkpoint()
    {
        var splits = TinyCorpora.CycleSplits();
        var spec = TinyCorpora.SmallSpec(epochs: 2);
        using var dir = new TempDir();
        using var checkpoints = new TempDir();
        PreparedCorpora.Write(dir.Path, splits);
        var ready = new TokenFilePreparer().Prepare(dir.Path, spec.Tokenizer);

        using var full = TinyCorpora.Train(spec, splits);
        using var cts = new CancellationTokenSource();
        using (var first = TokenFiles.Open(ready, spec.Tokenizer))
            Assert.ThrowsAny<OperationCanceledException>(() => new Trainer(spec).Run(first, new TrainingRunContext
            {
                CheckpointDirectory = checkpoints.Path, CheckpointOnCancel = true, Cancellation = cts.Token, TorchThreads = 1, ReportEverySteps = 1,
                Progress = p => { if (p.GlobalStep == 7) cts.Cancel(); },
            }));
        ResumeInfo? resumed = null;
        using var second = TokenFiles.Open(ready, spec.Tokenizer);
        using var rest = new Trainer(spec).Run(second, new TrainingRunContext { CheckpointDirectory = checkpoints.Path, TorchThreads = 1, Resumed = r => resumed = r });

        Assert.Equal(7, resumed!.GlobalStep);
        Assert.Equal(full.Metrics.Steps, rest.Metrics.Steps);
        Assert.Equal(full.Metrics.TestPerplexity, rest.Metrics.TestPerplexity, 3);
    }
}
