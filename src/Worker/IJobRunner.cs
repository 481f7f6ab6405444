using Microsoft.Extensions.Logging;
using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Worker;

/// <summary>Runs one claimed job's training synchronously on the worker's dedicated thread.</summary>
public interface IJobRunner
{
    /// <summary>
    /// Trains <see cref="JobRunContext.Job"/>; returns the staged model directory and its metrics. Throws
    /// <see cref="OperationCanceledException"/> when <see cref="JobRunContext.Cancellation"/> fires (after writing a
    /// checkpoint when <see cref="JobRunContext.Checkpoint"/> asked for one).
    /// </summary>
    JobOutcome Run(JobRunContext context);
}

/// <summary>Latest numbers of a running job, reported by the runner on its thread.</summary>
/// <remarks>
/// Epoch is 1-based; Step counts the steps done in this epoch, GlobalStep those of the whole run (including before a
/// resume). EpochEnded marks an end-of-epoch report (after validation), which is always written as an event.
/// </remarks>
public sealed record RunProgress(
    int Epoch, int TotalEpochs, long Step, long StepsPerEpoch, long GlobalStep, long TotalSteps,
    double? TrainLoss, double? LearningRate, double? TokensPerSecond,
    double? ValidPerplexity, double? BestValidPerplexity, bool EpochEnded = false);

/// <summary>What a successful run produced; the worker disposes it after saving.</summary>
/// <param name="TestPerplexity">Perplexity on the test split.</param>
/// <param name="MetricsJson">Metrics recorded with the version.</param>
/// <param name="Save">Writes the model version atomically to the directory (which must not exist) as the given version number.</param>
/// <param name="Resources">Released once the model is saved (the trained weights).</param>
public sealed record JobOutcome(double? TestPerplexity, string MetricsJson, Action<string, int> Save, IDisposable? Resources = null);

/// <summary>Everything a runner needs; the worker owns the store, the lease and the events.</summary>
public sealed class JobRunContext
{
    public required TrainingJobRecord Job { get; init; }
    public required DatasetRecord Dataset { get; init; }
    /// <summary>Full paths of the dataset's train, valid and test files.</summary>
    public required string TrainPath { get; init; }
    public required string ValidPath { get; init; }
    public required string TestPath { get; init; }
    /// <summary><c>{DataDirectory}/checkpoints/{jobId}</c>, existing; holds the resumable state.</summary>
    public required string CheckpointDirectory { get; init; }
    /// <summary>Stops training: a client cancel, a lost lease or the worker shutting down.</summary>
    public required CancellationToken Cancellation { get; init; }
    /// <summary>True when a checkpoint is due (the interval passed, or the worker is shutting down).</summary>
    public required Func<bool> Checkpoint { get; init; }
    public required Action<RunProgress> Progress { get; init; }
    /// <summary>Call when training resumed from a checkpoint: the 1-based epoch it continues in and the steps of it already done.</summary>
    public required Action<int, long> Resumed { get; init; }
    /// <summary>Call after each checkpoint is written, with its epoch and step.</summary>
    public required Action<int, long> Checkpointed { get; init; }
    /// <summary>LibTorch intra-op threads for the training thread (<c>RnnLm:Worker:TorchThreads</c>; 0 leaves LibTorch's default).</summary>
    public int TorchThreads { get; init; }
    public required ILogger Logger { get; init; }
}
