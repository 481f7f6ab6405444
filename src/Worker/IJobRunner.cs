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

/// <summary>Latest numbers of a running job, reported by the runner (any thread).</summary>
public sealed record RunProgress(
    int Epoch, int TotalEpochs, long Step, long StepsPerEpoch,
    double? TrainLoss, double? LearningRate, double? TokensPerSecond,
    double? ValidPerplexity, double? BestValidPerplexity, bool EpochEnded = false);

/// <summary>What a successful run produced.</summary>
/// <param name="StagedModelDirectory">A complete model directory the worker moves to <c>models/{name}/{version}</c>.</param>
/// <param name="TestPerplexity">Perplexity on the test split.</param>
/// <param name="MetricsJson">Metrics recorded with the version.</param>
public sealed record JobOutcome(string StagedModelDirectory, double? TestPerplexity, string MetricsJson);

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
    /// <summary>An empty directory path (not yet created) the finished model is written to.</summary>
    public required string StagingDirectory { get; init; }
    /// <summary>Stops training: a client cancel, a lost lease or the worker shutting down.</summary>
    public required CancellationToken Cancellation { get; init; }
    /// <summary>True when a checkpoint is due (the interval passed, or the worker is shutting down).</summary>
    public required Func<bool> Checkpoint { get; init; }
    public required Action<RunProgress> Progress { get; init; }
    /// <summary>Call when training resumed from a checkpoint, with where it resumed.</summary>
    public required Action<int, long> Resumed { get; init; }
    /// <summary>Call after each checkpoint is written, with its epoch and step.</summary>
    public required Action<int, long> Checkpointed { get; init; }
    public required ILogger Logger { get; init; }
}
