namespace RnnLmService.Core.Storage.Database;

/// <summary>An uploaded text corpus: its files live in <see cref="Directory"/> (relative to the data directory).</summary>
public sealed class DatasetRecord
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    public DateTime CreatedAt { get; set; }
    /// <summary><c>given</c>: uploaded as train/valid/test; <c>derived</c>: one file split contiguously 80/10/10 by line at upload.</summary>
    public required string SplitKind { get; set; }
    /// <summary>Relative to the data directory, e.g. <c>datasets/{id}</c>.</summary>
    public required string Directory { get; set; }
    // whole upload
    public long Lines { get; set; }
    public long Words { get; set; }
    public long Characters { get; set; }
    public long Bytes { get; set; }
    public required string Sha256 { get; set; }
    // per split
    public long TrainLines { get; set; }
    public long TrainWords { get; set; }
    public long TrainBytes { get; set; }
    public long ValidLines { get; set; }
    public long ValidWords { get; set; }
    public long ValidBytes { get; set; }
    public long TestLines { get; set; }
    public long TestWords { get; set; }
    public long TestBytes { get; set; }
}

/// <summary>Life of a training job. Terminal: succeeded, failed, cancelled.</summary>
public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>A queued, running or finished training job; the worker's claim is a lease renewed by heartbeats.</summary>
public sealed class TrainingJobRecord
{
    public required string Id { get; set; }
    public JobStatus Status { get; set; }
    public required string ModelName { get; set; }
    public required string DatasetId { get; set; }
    /// <summary>The validated hyperparameters as JSON (tokenizer, model, training).</summary>
    public required string SpecJson { get; set; }
    /// <summary>Higher runs first; equal priorities run oldest first.</summary>
    public int Priority { get; set; }
    /// <summary>Make the produced version the default model on success.</summary>
    public bool Promote { get; set; }
    /// <summary>Optional idempotency key: enqueueing twice with one key yields one job.</summary>
    public string? UniqueKey { get; set; }
    /// <summary>Who queued it: the API key's partition (or <c>ip:</c> and the address without a key), for per-key limits; null for the service's own jobs.</summary>
    public string? SubmittedBy { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    // claim
    public string? ClaimedBy { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public DateTime? HeartbeatAt { get; set; }
    /// <summary>How many times a worker claimed the job (a re-claim after a lost lease counts).</summary>
    public int Attempts { get; set; }
    /// <summary>
    /// A fresh random token per claim: heartbeats, progress, checkpoint deletion and completion are accepted only with
    /// the current one, so a worker that lost its claim can change nothing. Also names the claim's checkpoint directory.
    /// </summary>
    public string? ClaimToken { get; set; }
    /// <summary>Crashed attempts since the job last made progress (a checkpoint newer than its attempt started from).</summary>
    public int Crashes { get; set; }
    /// <summary>After a crash, the job is not claimed again before this time (back-off).</summary>
    public DateTime? RetryAfter { get; set; }
    /// <summary>Global step of the newest checkpoint any attempt reported.</summary>
    public long CheckpointStep { get; set; }
    /// <summary><see cref="CheckpointStep"/> when the current claim began: a crash with no checkpoint beyond it made no progress.</summary>
    public long ClaimCheckpointStep { get; set; }
    public bool CancelRequested { get; set; }
    // progress
    public int Epoch { get; set; }
    public int TotalEpochs { get; set; }
    public long Step { get; set; }
    public long TotalSteps { get; set; }
    public double? TrainLoss { get; set; }
    public double? ValidPerplexity { get; set; }
    public double? BestValidPerplexity { get; set; }
    public double? TokensPerSecond { get; set; }
    public double? LearningRate { get; set; }
    /// <summary>Seconds spent running over all attempts, updated with progress.</summary>
    public double RunSeconds { get; set; }
    // outcome
    public double? TestPerplexity { get; set; }
    public string? FailureReason { get; set; }
    public string? ProducedModelName { get; set; }
    public int? ProducedModelVersion { get; set; }
    /// <summary>Where the last resume started: "epoch {e}, step {s}", null when never resumed.</summary>
    public string? ResumedFrom { get; set; }

    public bool IsTerminal => Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;
}

/// <summary>Event kinds written to <see cref="JobEventRecord.Type"/>.</summary>
public static class JobEventTypes
{
    public const string Status = "status";
    public const string Progress = "progress";
    public const string Resumed = "resumed";
    public const string Checkpoint = "checkpoint";
    public const string Log = "log";
    /// <summary>The training process of an attempt started (its process id and torch thread count) or ended (how).</summary>
    public const string Process = "process";
}

/// <summary>One entry of a job's history; <see cref="Id"/> is the cursor clients resume after.</summary>
public sealed class JobEventRecord
{
    public long Id { get; set; }
    public required string JobId { get; set; }
    public DateTime Time { get; set; }
    public required string Type { get; set; }
    public required string PayloadJson { get; set; }
}

/// <summary>A trained model version; (Name, Version) is unique, versions counted per name from 1.</summary>
public sealed class ModelVersionRecord
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public int Version { get; set; }
    /// <summary>Relative to the data directory, e.g. <c>models/{name}/{version}</c>.</summary>
    public required string ArtifactPath { get; set; }
    public required string MetricsJson { get; set; }
    public DateTime CreatedAt { get; set; }
    /// <summary>The version a bare <c>name</c> resolves to (at most one per name); otherwise the newest.</summary>
    public bool Promoted { get; set; }
    public string? JobId { get; set; }
    /// <summary>The version a warm-started job continued from, <c>name@version</c>; null when trained from random weights or imported.</summary>
    public string? Parent { get; set; }
}

/// <summary>The last version number handed out per model name: numbers are never reused, even after a delete.</summary>
public sealed class ModelNameCounterRecord
{
    public required string Name { get; set; }
    public int LastVersion { get; set; }
}

/// <summary>A named service-wide setting, such as <see cref="Keys.DefaultModel"/>.</summary>
public sealed class SettingRecord
{
    public required string Key { get; set; }
    public required string Value { get; set; }
    public DateTime UpdatedAt { get; set; }

    public static class Keys
    {
        /// <summary>The model name a request without a model uses.</summary>
        public const string DefaultModel = "default-model";
    }
}
