using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using RnnLmService.Tests.Shared;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>Small corpora and specs for engine tests: seconds to train on one core.</summary>
internal static class TinyCorpora
{
    public static CorpusSplits CycleSplits() => new(CycleLanguage.Text(300, 1), CycleLanguage.Text(30, 2), CycleLanguage.Text(30, 3));

    /// <summary>A small model and a recipe that learns the cycle language in a few seconds.</summary>
    public static TrainingSpec SmallSpec(CellType cell = CellType.Lstm, int epochs = 6, double dropout = 0.0) => new()
    {
        Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word },
        Model = new ModelOptions { CellType = cell, EmbeddingSize = 24, HiddenSize = 32, Layers = 1, Dropout = dropout },
        Training = new TrainingOptions
        {
            Optimizer = OptimizerKind.Adam, LearningRate = 0.02, Epochs = epochs, BatchSize = 8, EvalBatchSize = 4,
            Bptt = 12, Clip = 1.0, Patience = 0, Seed = 42,
        },
    };

    /// <summary>Runs the trainer on one torch thread (results are reproducible only at a fixed thread count).</summary>
    public static TrainingResult Train(TrainingSpec spec, CorpusSplits splits, string? checkpoints = null,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default, int reportEvery = 20) =>
        new Trainer(spec).Run(splits, new TrainingRunContext
        {
            CheckpointDirectory = checkpoints,
            Progress = progress,
            Cancellation = cancellation,
            CheckpointOnCancel = true,
            ReportEverySteps = reportEvery,
            TorchThreads = 1,
        });
}

/// <summary>A temporary directory removed at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("rnnlm-test-").FullName;
    public string Sub(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
