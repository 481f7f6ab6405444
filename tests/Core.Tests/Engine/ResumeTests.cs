using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using TorchSharp;

namespace RnnLmService.Core.Tests.Engine;

[Collection(SerialTorchCollection.Name)]
public sealed class ResumeTests
{
    // Dropout (RNG), Adam (optimizer moments), annealing (lr schedule) and a plateau counter all matter here:
    // a resume that dropped any of them would drift from the uninterrupted run.
    private static TrainingSpec Spec() => TinyCorpora.SmallSpec(CellType.Lstm, epochs: 3, dropout: 0.3) with
    {
        Training = TinyCorpora.SmallSpec().Training with { Epochs = 3, AnnealFactor = 2, Patience = 0, LearningRate = 0.03 },
    };

    [Theory]
    [InlineData(false)] // in the middle of the second epoch
    [InlineData(true)]  // exactly at the end of the first epoch
    public void A_run_stopped_and_resumed_matches_an_uninterrupted_run(bool atEpochEnd)
    {
        var splits = TinyCorpora.CycleSplits();
        using var dirA = new TempDir();
        using var dirB = new TempDir();

        var lossesA = new List<(long Step, double Loss)>();
        using var full = TinyCorpora.Train(Spec(), splits, dirA.Path, p => { if (p.Kind == ProgressKind.Step) lossesA.Add((p.GlobalStep, p.Loss)); }, reportEvery: 1);
        var perEpoch = (int)(full.Metrics.Steps / 3);
        Assert.True(perEpoch >= 8, $"{perEpoch} steps per epoch");
        var stopAfter = atEpochEnd ? perEpoch : perEpoch + perEpoch / 2 + 1;

        var lossesB = new List<(long Step, double Loss)>();
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => TinyCorpora.Train(Spec(), splits, dirB.Path, p =>
        {
            if (p.Kind != ProgressKind.Step) return;
            lossesB.Add((p.GlobalStep, p.Loss));
            if (p.GlobalStep == stopAfter) cts.Cancel();
        }, cts.Token, reportEvery: 1));
        Assert.Equal(stopAfter, lossesB.Count);

        ResumeInfo? resumed = null;
        using var rest = new Trainer(Spec()).Run(splits, new TrainingRunContext
        {
            CheckpointDirectory = dirB.Path, TorchThreads = 1, ReportEverySteps = 1,
            Resumed = r => resumed = r,
            Progress = p => { if (p.Kind == ProgressKind.Step) lossesB.Add((p.GlobalStep, p.Loss)); },
        });

        Assert.NotNull(resumed);
        Assert.Equal(stopAfter, resumed.GlobalStep);
        Assert.Equal(stopAfter / perEpoch + 1, resumed.Epoch);
        Assert.Equal(stopAfter % perEpoch, resumed.Step);
        Assert.Equal(lossesA.Select(l => l.Step), lossesB.Select(l => l.Step));
        for (var i = 0; i < lossesA.Count; i++)
            Assert.True(Math.Abs(lossesA[i].Loss - lossesB[i].Loss) < 1e-4, $"step {lossesA[i].Step}: {lossesA[i].Loss} vs {lossesB[i].Loss}");

        Assert.Equal(full.Metrics.ValidPerplexityHistory.Count, rest.Metrics.ValidPerplexityHistory.Count);
        for (var i = 0; i < full.Metrics.ValidPerplexityHistory.Count; i++)
            Assert.Equal(full.Metrics.ValidPerplexityHistory[i], rest.Metrics.ValidPerplexityHistory[i], 3);
        AssertSameWeights(full.Model, rest.Model, 1e-4);
    }

    /// <summary>Every option of issue 13 on at once: masks (RNG), NT-ASGD's averages and switch, variable lengths, the schedule.</summary>
    // lr 100 makes validation stall early on this easy language, so NT-ASGD switches in epoch 2 and the interruption falls while averaging.
    internal static TrainingSpec EverythingOn() => TinyCorpora.SmallSpec(epochs: 6) with
    {
        Model = new ModelOptions
        {
            EmbeddingSize = 24, HiddenSize = 24, Layers = 2, Dropout = 0.2, TieWeights = true, WeightDrop = 0.3, EmbeddingDropout = 0.1,
            LockedDropout = true, InputDropout = 0.3, HiddenDropout = 0.2, OutputDropout = 0.3,
        },
        Training = NtAsgdTests.Spec().Training with
        {
            Epochs = 6, LearningRate = 100, NonmonoInterval = 0, VariableBptt = true, GradientAccumulation = 2, WarmupSteps = 3, Schedule = LearningRateSchedule.Cosine,
            ActivationRegularization = 1, TemporalActivationRegularization = 1, WeightDecay = 1e-5,
        },
    };

    /// <summary>
    /// <see cref="EverythingOn"/> plus the vocabulary options (issue 13 item 3): byte-level BPE learnt from the train split
    /// (relearnt on resume) and an adaptive softmax with two tail clusters (so untied).
    /// </summary>
    internal static TrainingSpec EverythingAndVocabularyOn()
    {
        var spec = EverythingOn();
        return spec with
        {
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 280 },
            Model = spec.Model with { TieWeights = false, AdaptiveSoftmaxCutoffs = new[] { 8, 20 } },
        };
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]  // with BPE and the adaptive softmax as well
    public void A_run_with_every_new_option_resumes_exactly_including_the_averaging(bool vocabulary)
    {
        var splits = TinyCorpora.CycleSplits();
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        TrainingSpec EverythingOn() => vocabulary ? EverythingAndVocabularyOn() : ResumeTests.EverythingOn();
        var lossesA = new List<(long Step, double Loss)>();
        using var full = TinyCorpora.Train(EverythingOn(), splits, dirA.Path, p => { if (p.Kind == ProgressKind.Step) lossesA.Add((p.GlobalStep, p.Loss)); }, reportEvery: 1);
        var start = full.Metrics.AveragingStartStep;
        Assert.NotNull(start);                                                         // the interruption must fall while averaging
        var stopAfter = start.Value + (full.Metrics.Steps - start.Value) / 2;
        Assert.True(stopAfter > start.Value);

        var lossesB = new List<(long Step, double Loss)>();
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => TinyCorpora.Train(EverythingOn(), splits, dirB.Path, p =>
        {
            if (p.Kind != ProgressKind.Step) return;
            lossesB.Add((p.GlobalStep, p.Loss));
            if (p.GlobalStep == stopAfter) cts.Cancel();
        }, cts.Token, reportEvery: 1));
        Assert.True(File.Exists(Path.Combine(dirB.Path, "latest", "average.bin")), "the checkpoint carries NT-ASGD's averages");

        using var rest = TinyCorpora.Train(EverythingOn(), splits, dirB.Path, p => { if (p.Kind == ProgressKind.Step) lossesB.Add((p.GlobalStep, p.Loss)); }, reportEvery: 1);
        Assert.Equal(lossesA.Select(l => l.Step), lossesB.Select(l => l.Step));
        for (var i = 0; i < lossesA.Count; i++)
            Assert.True(Math.Abs(lossesA[i].Loss - lossesB[i].Loss) < 1e-4, $"step {lossesA[i].Step}: {lossesA[i].Loss} vs {lossesB[i].Loss}");
        Assert.Equal(start, rest.Metrics.AveragingStartStep);
        Assert.Equal(full.Metrics.ValidPerplexityHistory.Count, rest.Metrics.ValidPerplexityHistory.Count);
        for (var i = 0; i < full.Metrics.ValidPerplexityHistory.Count; i++)
            Assert.Equal(full.Metrics.ValidPerplexityHistory[i], rest.Metrics.ValidPerplexityHistory[i], 3);
        AssertSameWeights(full.Model, rest.Model, 1e-4);
        if (!vocabulary) return;
        Assert.True(rest.Tokenizer is BpeTokenizer && rest.Model.Options.IsAdaptive, "the vocabulary options were on");
        Assert.Equal(full.Vocabulary.Tokens, rest.Vocabulary.Tokens);                      // the relearnt merges gave the same tokens
        Assert.Equal(full.Metrics.TestPerplexity, rest.Metrics.TestPerplexity, 6);
        Assert.Equal(full.Metrics.TestBitsPerCharacter, rest.Metrics.TestBitsPerCharacter, 6);
    }

    [Fact]
    public void The_same_seed_gives_identical_weights_and_another_seed_does_not()
    {
        var splits = TinyCorpora.CycleSplits();
        var spec = TinyCorpora.SmallSpec(epochs: 1, dropout: 0.2);
        using var a = TinyCorpora.Train(spec, splits);
        using var b = TinyCorpora.Train(spec, splits);
        using var c = TinyCorpora.Train(spec with { Training = spec.Training with { Seed = 43 } }, splits);
        AssertSameWeights(a.Model, b.Model, 0);
        var differs = a.Model.state_dict().Any(kv => !kv.Value.allclose(c.Model.state_dict()[kv.Key]));
        Assert.True(differs);
    }

    [Fact]
    public void Cancellation_stops_within_one_batch()
    {
        using var cts = new CancellationTokenSource();
        var steps = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => TinyCorpora.Train(TinyCorpora.SmallSpec(), TinyCorpora.CycleSplits(), progress: p =>
        {
            if (p.Kind != ProgressKind.Step) return;
            steps++;
            if (steps == 3) cts.Cancel();
        }, cancellation: cts.Token, reportEvery: 1));
        Assert.Equal(3, steps);
    }

    internal static void AssertSameWeights(RnnLanguageModel x, RnnLanguageModel y, double tolerance)
    {
        var sx = x.state_dict();
        var sy = y.state_dict();
        Assert.Equal(sx.Keys.Order(), sy.Keys.Order());
        foreach (var (key, value) in sx)
        {
            var diff = (value - sy[key]).abs().max().item<float>();
            Assert.True(diff <= tolerance, $"{key} differs by {diff}");
        }
    }
}
