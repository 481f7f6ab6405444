using System.Globalization;
using Microsoft.Extensions.Logging;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Training;

namespace RnnLmService.Worker.Child;

/// <summary>
/// A job's checkpoints in object storage, so that a worker on another machine resumes where this one stopped: each
/// checkpoint the training process writes locally is also put at <c>checkpoints/{jobId}/{claim}/{globalStep}</c>
/// (<c>state.json</c> last: a stored checkpoint with a state is complete), and older ones of the claim are deleted.
/// On start the newest stored checkpoint of any claim is adopted when it is ahead of the local ones.
/// </summary>
public sealed class RemoteCheckpoints(IArtifactStore store, string jobId, string claim, ILogger logger)
{
    private const string StateFile = "state.json";

    private string JobPath => $"checkpoints/{jobId}";

    /// <summary>Puts a copy of the local checkpoint directory <paramref name="latest"/> (written at <paramref name="globalStep"/>), then drops this claim's older ones.</summary>
    public void Upload(string latest, long globalStep)
    {
        try { UploadCore(latest, globalStep); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The local checkpoint stands; only a resume on another machine would start from an older one.
            logger.LogWarning("The checkpoint at global step {Step} could not be stored in the bucket: {Reason}", globalStep, e.Message);
        }
    }

    private void UploadCore(string latest, long globalStep)
    {
        var copy = Path.Combine(Path.GetDirectoryName(latest)!, $".upload-{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(latest)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var step = Step(globalStep);
        store.PutDirectoryAsync(copy, $"{JobPath}/{claim}/{step}", StateFile).GetAwaiter().GetResult();
        foreach (var older in Stored().Where(c => c.Claim == claim && string.CompareOrdinal(c.Step, step) < 0))
            store.DeleteAsync($"{JobPath}/{claim}/{older.Step}").GetAwaiter().GetResult();
    }

    /// <summary>
    /// Copies the newest stored checkpoint into <paramref name="claimDirectory"/> as its <c>latest</c> when it is further
    /// than <paramref name="localGlobalStep"/> (the newest local one, -1 for none); true when it did.
    /// </summary>
    public bool AdoptIfNewer(string claimDirectory, long localGlobalStep)
    {
        var newest = Stored().Where(c => c.Complete).OrderByDescending(c => c.Step, StringComparer.Ordinal).FirstOrDefault();
        if (newest is null || long.Parse(newest.Step, CultureInfo.InvariantCulture) <= localGlobalStep) return false;
        var fetched = store.GetDirectoryAsync($"{JobPath}/{newest.Claim}/{newest.Step}").GetAwaiter().GetResult();
        if (fetched is null) return false;
        var tmp = Path.Combine(claimDirectory, $".adopt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        foreach (var file in Directory.GetFiles(fetched)) File.Copy(file, Path.Combine(tmp, Path.GetFileName(file)));
        var latest = Path.Combine(claimDirectory, "latest");
        if (Directory.Exists(latest)) Directory.Delete(latest, recursive: true);
        Core.Storage.Durable.MoveDirectory(tmp, latest);
        logger.LogInformation("Resuming from the stored checkpoint of claim {Claim} (global step {Step})", newest.Claim, long.Parse(newest.Step, CultureInfo.InvariantCulture));
        return true;
    }

    private sealed record StoredCheckpoint(string Claim, string Step, bool Complete);

    private List<StoredCheckpoint> Stored() =>
        store.ListAsync(JobPath).GetAwaiter().GetResult()
            .Select(f => f.Split('/'))
            .Where(p => p.Length == 3)
            .GroupBy(p => (Claim: p[0], Step: p[1]))
            .Select(g => new StoredCheckpoint(g.Key.Claim, g.Key.Step, g.Any(p => p[2] == StateFile)))
            .ToList();

    /// <summary>Zero-padded, so ordinal order is numeric order.</summary>
    private static string Step(long globalStep) => globalStep.ToString("D12", CultureInfo.InvariantCulture);
}
