using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Worker.Jobs;

/// <summary>
/// Start-up housekeeping of the data directory (see <see cref="ModelPublisher"/> for the order it relies on):
/// <list type="bullet">
/// <item>staging of a job that succeeded under that claim whose version directory is missing: moved into place;</item>
/// <item>other staging: deleted, unless its claim is still running with a live lease (a worker elsewhere is publishing);</item>
/// <item>checkpoints of jobs that ended or no longer exist: deleted;</item>
/// <item>dataset directories without a dataset row, and abandoned <c>.upload-*</c> directories, older than
/// <see cref="OrphanAge"/> (younger ones may be an upload of another process between its rename and its insert): deleted.</item>
/// </list>
/// </summary>
public sealed class DataDirectoryJanitor(IDbContextFactory<RnnLmDbContext> dbFactory, JobPaths paths, IArtifactStore artifacts, TimeProvider clock, ILogger<DataDirectoryJanitor> logger)
{
    /// <summary>How old an unreferenced dataset directory must be before it is removed.</summary>
    public static readonly TimeSpan OrphanAge = TimeSpan.FromHours(1);

    public async Task CleanAsync(CancellationToken ct)
    {
        await using var db = dbFactory.CreateDbContext();
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var staging in Entries(paths.StagingRoot))
        {
            var name = Path.GetFileName(staging);
            var dot = name.IndexOf('.');
            var (jobId, token) = dot > 0 ? (name[..dot], name[(dot + 1)..]) : (name, "");
            var job = await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, ct);
            if (job is { Status: JobStatus.Running, LeaseUntil: { } until } && job.ClaimToken == token && until > now) continue;
            if (job is { Status: JobStatus.Succeeded } && job.ClaimToken == token
                && await db.ModelVersions.AsNoTracking().FirstOrDefaultAsync(v => v.JobId == jobId, ct) is { } version
                && Directory.Exists(JobPaths.StagedModel(staging)))
            {
                await ModelPublisher.PlaceAsync(artifacts, staging, version.ArtifactPath);
                logger.LogInformation("Finished publishing {Model}@{Version} of job {JobId} (the worker stopped between its commit and the move)", version.Name, version.Version, jobId);
            }
            Delete(staging, "staging left by a stopped worker");
        }

        var statuses = await db.TrainingJobs.AsNoTracking().Select(j => new { j.Id, j.Status }).ToDictionaryAsync(j => j.Id, j => j.Status, ct);
        foreach (var dir in Entries(paths.CheckpointsRoot))
            if (!statuses.TryGetValue(Path.GetFileName(dir), out var status) || status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled)
                Delete(dir, "checkpoints of an ended job");

        var datasets = (await db.Datasets.AsNoTracking().Select(d => d.Id).ToListAsync(ct)).ToHashSet();
        foreach (var dir in Entries(paths.DatasetsRoot))
        {
            var name = Path.GetFileName(dir);
            if (datasets.Contains(name)) continue;
            if (now - Directory.GetLastWriteTimeUtc(dir) < OrphanAge) continue;
            Delete(dir, "a dataset directory without a dataset");
        }
    }

    private static IEnumerable<string> Entries(string root) => Directory.Exists(root) ? Directory.GetDirectories(root) : [];

    private void Delete(string dir, string what)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
            logger.LogInformation("Removed {What}: {Directory}", what, Path.GetFileName(dir));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Could not remove {Directory}: {Reason}", dir, e.Message);
        }
    }
}
