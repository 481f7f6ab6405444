using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Worker.Jobs;

/// <summary>
/// Jobs claimed by a worker process of this machine (same boot) that no longer exists — a worker killed with SIGKILL
/// and restarted — are made claimable now rather than when their lease runs out (the next claim counts it as a crash).
/// A live process's claim is never touched. Worker ids are <c>{machine}/{boot id}/{process id}/{random}</c>.
/// </summary>
public sealed class DeadClaimReaper(JobStore jobs, ILogger<DeadClaimReaper> logger)
{
    /// <summary><c>{machine}/{boot id}/</c>; the boot id is "noboot" off Linux, where nothing is reaped.</summary>
    public static readonly string LocalMachinePrefix = $"{Environment.MachineName}/{BootId()}/";

    /// <summary>A new worker id of this process.</summary>
    public static string NewWorkerId() => $"{LocalMachinePrefix}{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    public async Task ReapAsync()
    {
        if (LocalMachinePrefix.Contains("/noboot/", StringComparison.Ordinal)) return;
        try
        {
            foreach (var (jobId, owner) in await jobs.RunningClaimsAsync(LocalMachinePrefix, CancellationToken.None))
            {
                var parts = owner[LocalMachinePrefix.Length..].Split('/');
                if (parts.Length < 1 || !int.TryParse(parts[0], out var pid) || IsAlive(pid)) continue;
                if (await jobs.ExpireLeaseAsync(jobId, owner, CancellationToken.None))
                    logger.LogInformation("Job {JobId} was held by {Owner}, a process of this machine that is gone; it is claimable now", jobId, owner);
            }
        }
        catch (Exception e) when (StoreFailures.IsTransient(e) || e is InvalidOperationException)
        {
            logger.LogWarning("Could not look for jobs held by dead local workers: {Reason}", e.Message);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static string BootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim()[..8]; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return "noboot"; }
    }
}
