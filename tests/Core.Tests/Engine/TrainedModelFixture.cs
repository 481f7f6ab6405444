using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>One small LSTM trained on the cycle language, saved and loaded back, shared by a test class.</summary>
public sealed class TrainedModelFixture : IDisposable
{
    private readonly TempDir dir = new();

    public TrainedModelFixture()
    {
        Splits = TinyCorpora.CycleSplits();
        using var result = TinyCorpora.Train(TinyCorpora.SmallSpec(), Splits);
        Metrics = result.Metrics;
        ModelDirectory = dir.Sub("models/cycle/1");
        ModelArtifacts.Save(ModelDirectory, "cycle", 1, result, datasetHash: "test");
        Model = LanguageModel.Load(ModelDirectory);
    }

    public CorpusSplits Splits { get; }
    public Training.TrainingMetrics Metrics { get; }
    public string ModelDirectory { get; }
    public LanguageModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        dir.Dispose();
    }
}
