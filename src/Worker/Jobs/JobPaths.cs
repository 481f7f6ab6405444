using System.Globalization;

namespace RnnLmService.Worker.Jobs;

/// <summary>
/// Where a job's files live under the data directory: <c>checkpoints/{jobId}/{claimToken}/</c> (one directory per
/// claim, so a training process that lost its claim never writes where the new owner's process does),
/// <c>models/.staging/{jobId}.{claimToken}/model</c> (a model written and fsynced before it is published) and
/// <c>models/{name}/{version}</c> (a published version).
/// </summary>
public sealed class JobPaths(string dataPath)
{
    public string CheckpointsRoot => Path.Combine(dataPath, "checkpoints");
    public string StagingRoot => Path.Combine(dataPath, "models", ".staging");
    public string DatasetsRoot => Path.Combine(dataPath, "datasets");

    public string JobCheckpoints(string jobId) => Path.Combine(CheckpointsRoot, jobId);
    public string ClaimCheckpoints(string jobId, string claimToken) => Path.Combine(CheckpointsRoot, jobId, claimToken);
    public string Staging(string jobId, string claimToken) => Path.Combine(StagingRoot, $"{jobId}.{claimToken}");
    public static string StagedModel(string staging) => Path.Combine(staging, "model");

    /// <summary><c>models/{name}/{version}</c>, relative to the data directory (what the version row records).</summary>
    public static string RelativeModel(string name, int version) => $"models/{name}/{version.ToString(CultureInfo.InvariantCulture)}";
    public string Absolute(string relative) => Path.Combine(dataPath, relative);
}
