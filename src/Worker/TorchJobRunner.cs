using System.Text.Json;
using RnnLmService.Core;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Worker;

/// <summary>Runs a job with the Core engine's <see cref="Trainer"/>: reads the dataset's splits, trains with resume, hands back a saver.</summary>
public sealed class TorchJobRunner : IJobRunner
{
    /// <summary>Step reports from the trainer: a loss read is a sync, so not every batch.</summary>
    public int ReportEverySteps { get; init; } = 10;

    public JobOutcome Run(JobRunContext context)
    {
        NativeRuntime.EnsureLoaded();
        var spec = JobSpecJson.Deserialize(context.Job.SpecJson);
        var splits = new CorpusSplits(
            CorpusReader.ReadUtf8(context.TrainPath, "train"),
            CorpusReader.ReadUtf8(context.ValidPath, "valid"),
            CorpusReader.ReadUtf8(context.TestPath, "test"));

        var result = new Trainer(spec).Run(splits, new TrainingRunContext
        {
            CheckpointDirectory = context.CheckpointDirectory,
            Resume = true,
            Cancellation = context.Cancellation,
            CheckpointNow = context.Checkpoint,
            CheckpointOnCancel = false, // the worker asks for the shutdown checkpoint through CheckpointNow
            ReportEverySteps = ReportEverySteps,
            TorchThreads = context.TorchThreads > 0 ? context.TorchThreads : null, // this dedicated thread's setting
            Logger = context.Logger,
            Resumed = r => context.Resumed(r.Epoch, r.Step),
            Checkpointed = r => context.Checkpointed(r.Epoch, r.Step),
            Progress = p => context.Progress(new RunProgress(
                p.Epoch, spec.Training.Epochs, p.Step, p.StepsPerEpoch, p.GlobalStep, p.TotalSteps,
                p.Loss, p.LearningRate, p.TokensPerSecond, p.ValidPerplexity, p.BestValidPerplexity,
                EpochEnded: p.Kind == ProgressKind.Epoch)),
        });

        var metrics = JsonSerializer.Serialize(result.Metrics, ModelManifest.JsonOptions);
        return new JobOutcome(result.Metrics.TestPerplexity, metrics,
            (directory, version) => ModelArtifacts.Save(directory, context.Job.ModelName, version, result, context.Dataset.Sha256),
            result);
    }
}
