using Microsoft.Extensions.Logging;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Worker.Jobs;

/// <summary>
/// Publishes a trained model, in this order:
/// <list type="number">
/// <item>(the training process) the model is written to <c>models/.staging/{jobId}.{claimToken}/model</c> and fsynced, under a version number reserved from the name's counter;</item>
/// <item>one transaction guarded by the claim token: the job becomes <c>succeeded</c> and the version row is inserted (no files are written while it is open, so SQLite's write lock is short);</item>
/// <item>the staged directory is renamed to <c>models/{name}/{version}</c> and the parent directory fsynced (with S3, uploaded there, <c>model.json</c> last);</item>
/// <item>the staging entry and the job's checkpoints are deleted.</item>
/// </list>
/// With S3 (<see cref="IArtifactStore.PutsByRename"/> false) step 3 is an upload and comes before step 2, and a lost claim
/// deletes the uploaded objects; a crash between them leaves objects of a version number never recorded (numbers are not reused).
/// A crash after 1 leaves staging of a job not succeeded under that claim: start-up deletes it and the job's next
/// attempt resumes from the checkpoint written after its last epoch. A crash after 2 leaves staging of a succeeded job
/// whose version directory is missing: start-up finishes step 3. A crash after 3 leaves staging or checkpoints of an
/// ended job: start-up deletes them (<see cref="DataDirectoryJanitor"/>).
/// </summary>
public sealed class ModelPublisher(JobStore jobs, JobPaths paths, IArtifactStore artifacts, ILogger<ModelPublisher> logger)
{
    /// <summary>Steps 2-4; false when the claim is gone (the staged model is deleted and nothing is recorded).</summary>
    public async Task<bool> PublishAsync(TrainingJobRecord job, int version, string metricsJson, double? testPerplexity, DateTime now)
    {
        var staging = paths.Staging(job.Id, job.ClaimToken!);
        var relative = JobPaths.RelativeModel(job.ModelName, version);
        var record = new ModelVersionRecord
        {
            Name = job.ModelName, Version = version, ArtifactPath = relative, MetricsJson = metricsJson, CreatedAt = now,
            Parent = JobSpecJson.Deserialize(job.SpecJson).Init,
        };
        // An upload (S3) goes before the commit, so a client that sees the job succeed can use the model at once.
        if (!artifacts.PutsByRename) await PlaceAsync(artifacts, staging, relative);
        var committed = await StoreFailures.Retry.ExecuteAsync(async ct =>
            await jobs.CompleteSucceededAsync(job.Id, job.ClaimToken!, record, job.Promote, testPerplexity, ct), CancellationToken.None);
        if (!committed)
        {
            logger.LogWarning("Job {JobId} trained {Model}@{Version} but its claim had passed to another worker; the model is discarded", job.Id, job.ModelName, version);
            if (!artifacts.PutsByRename) await artifacts.DeleteAsync(relative);
            TryDelete(staging);
            return false;
        }
        if (artifacts.PutsByRename) await PlaceAsync(artifacts, staging, relative);
        TryDelete(staging);
        TryDelete(paths.JobCheckpoints(job.Id));
        await TryDeleteStoredCheckpointsAsync(job.Id);
        return true;
    }

    /// <summary>Deletes the job's checkpoints kept in object storage (<c>checkpoints/{jobId}</c>; none with the file system).</summary>
    internal async Task TryDeleteStoredCheckpointsAsync(string jobId)
    {
        if (artifacts.PutsByRename) return;   // the file system's are the local ones, deleted with them
        try { await artifacts.DeleteAsync($"checkpoints/{jobId}"); }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            logger.LogWarning("Could not delete the stored checkpoints of job {JobId}: {Reason}", jobId, e.Message);
        }
    }

    /// <summary>
    /// Step 3: puts the staged model at its version's path: renamed into place and fsynced (file system; nothing when
    /// it is there already), or uploaded with <c>model.json</c> last (S3).
    /// </summary>
    public static Task PlaceAsync(IArtifactStore artifacts, string staging, string relative) =>
        artifacts.PutDirectoryAsync(JobPaths.StagedModel(staging), relative, ModelArtifacts.ManifestFile);

    internal void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Could not delete {Directory}: {Reason}", directory, e.Message);
        }
    }
}
