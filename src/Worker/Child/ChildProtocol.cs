using System.Text.Json;
using System.Text.Json.Serialization;
using RnnLmService.Core.Training;

namespace RnnLmService.Worker.Child;

/// <summary>
/// The conversation between the worker (parent) and a job's training process (child).
/// <list type="bullet">
/// <item>The parent starts <c>RnnLmService.Worker.dll run-job</c> and writes one <see cref="JobRunRequest"/> JSON
/// line on its standard input; afterwards it writes commands: <c>save {version}</c> once the child reported
/// <see cref="ChildMessageTypes.Trained"/>. End of file on standard input means the parent is gone: the child exits at once.</item>
/// <item>The child writes one <see cref="ChildMessage"/> JSON line per event on its standard output and logs on its
/// standard error (the parent forwards those lines to its log).</item>
/// <item>SIGTERM asks the child to checkpoint at the next batch boundary and exit (<see cref="ChildMessageTypes.Stopped"/>);
/// the parent sends SIGKILL after <c>RnnLm:Worker:StopGrace</c>.</item>
/// <item>Exit codes: 0 after <see cref="ChildMessageTypes.Saved"/> or <see cref="ChildMessageTypes.Stopped"/>;
/// <see cref="ExitCodes.JobFailed"/> after <see cref="ChildMessageTypes.Failed"/> (a problem of the job itself: bad
/// settings, a corpus that does not fit — not retried); anything else, or a signal, is a crash.</item>
/// </list>
/// The child never touches the database: the parent writes heartbeats, progress and events with its claim token.
/// </summary>
public static class ChildProtocol
{
    /// <summary>The worker executable's argument that starts a training process.</summary>
    public const string RunJobVerb = "run-job";

    /// <summary>The parent's command that lets a trained child write its model as the given version.</summary>
    public const string SaveCommand = "save";

    /// <summary>Compact, camelCase, one object per line.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>Exit codes of a training process.</summary>
public static class ExitCodes
{
    /// <summary>Saved its model, or stopped after a checkpoint when asked.</summary>
    public const int Done = 0;
    /// <summary>The job cannot succeed (reported in a <see cref="ChildMessageTypes.Failed"/> message): fail it, do not retry.</summary>
    public const int JobFailed = 3;
    /// <summary>The parent went away (end of file on standard input).</summary>
    public const int ParentGone = 4;
}

/// <summary>Everything a training process needs; it reads no configuration and no database.</summary>
/// <param name="JobId">The job.</param>
/// <param name="ModelName">The name its version is saved under.</param>
/// <param name="SpecJson">The job's validated settings.</param>
/// <param name="DatasetSha256">Recorded in the model's manifest.</param>
/// <param name="TrainPath">The dataset's training split.</param>
/// <param name="ValidPath">The validation split.</param>
/// <param name="TestPath">The test split.</param>
/// <param name="CheckpointDirectory">This claim's own checkpoint directory (<c>checkpoints/{jobId}/{claimToken}</c>).</param>
/// <param name="JobCheckpointsDirectory">The job's checkpoint root; resume takes the newest complete checkpoint of any claim below it.</param>
/// <param name="StagingDirectory">Where the model is written before the parent publishes it (<c>models/.staging/{jobId}.{claimToken}</c>).</param>
/// <param name="TorchThreads">LibTorch intra-op threads.</param>
/// <param name="CheckpointIntervalSeconds">A checkpoint at least this often (and at every epoch end).</param>
/// <param name="ReportEverySteps">Step progress every this many steps.</param>
/// <param name="InitModelDirectory">A warm start's parent model directory (the spec's <c>init</c>); null for a cold start or when the parent is gone.</param>
/// <param name="ObjectStorage">With <c>RnnLm:Storage:Provider=s3</c>, the bucket checkpoints are also kept in (<see cref="RemoteCheckpoints"/>).</param>
public sealed record JobRunRequest(
    string JobId, string ModelName, string SpecJson, string DatasetSha256,
    string TrainPath, string ValidPath, string TestPath,
    string CheckpointDirectory, string JobCheckpointsDirectory, string StagingDirectory,
    int TorchThreads, double CheckpointIntervalSeconds, int ReportEverySteps, string? InitModelDirectory = null,
    Core.Configuration.S3StorageOptions? ObjectStorage = null);

/// <summary>Kinds of <see cref="ChildMessage"/>.</summary>
public static class ChildMessageTypes
{
    /// <summary>The process runs: <see cref="ChildMessage.Pid"/>, <see cref="ChildMessage.TorchThreads"/>, <see cref="ChildMessage.BaselineRssBytes"/>.</summary>
    public const string Started = "started";
    /// <summary>Training continues from a checkpoint at <see cref="ChildMessage.Epoch"/>/<see cref="ChildMessage.Step"/>.</summary>
    public const string Resumed = "resumed";
    /// <summary>A trainer report: <see cref="ChildMessage.Progress"/>.</summary>
    public const string Progress = "progress";
    /// <summary>A checkpoint was written (and fsynced) at <see cref="ChildMessage.Epoch"/>/<see cref="ChildMessage.Step"/>/<see cref="ChildMessage.GlobalStep"/>.</summary>
    public const string Checkpointed = "checkpointed";
    /// <summary>Training and the test evaluation are done: <see cref="ChildMessage.MetricsJson"/>; the child waits for <c>save {version}</c>.</summary>
    public const string Trained = "trained";
    /// <summary>The model is written and fsynced in the staging directory: <see cref="ChildMessage.PeakRssBytes"/>.</summary>
    public const string Saved = "saved";
    /// <summary>Stopped on SIGTERM after writing a checkpoint.</summary>
    public const string Stopped = "stopped";
    /// <summary>The job cannot succeed: <see cref="ChildMessage.Reason"/>.</summary>
    public const string Failed = "failed";
}

/// <summary>One line a training process writes on its standard output.</summary>
public sealed record ChildMessage
{
    public required string Type { get; init; }
    public int? Pid { get; init; }
    public int? TorchThreads { get; init; }
    public int? Epoch { get; init; }
    public long? Step { get; init; }
    public long? GlobalStep { get; init; }
    public TrainingProgress? Progress { get; init; }
    public string? MetricsJson { get; init; }
    public double? TestPerplexity { get; init; }
    public string? Reason { get; init; }
    /// <summary>The process's peak resident memory (VmHWM) before it read the corpus: the runtime's own baseline.</summary>
    public long? BaselineRssBytes { get; init; }
    /// <summary>The process's peak resident memory (VmHWM) so far.</summary>
    public long? PeakRssBytes { get; init; }
}
