using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Worker.Jobs;

namespace RnnLmService.Worker;

/// <summary>
/// The claim loop: claims queued jobs (up to <c>RnnLm:Worker:Concurrency</c> at once) and hands each claim to a
/// <see cref="ChildSupervisor"/>, which runs it as its own training process. At start it tidies the data directory
/// (<see cref="DataDirectoryJanitor"/>); every <see cref="DeadClaimScanInterval"/> it frees jobs held by dead local
/// workers (<see cref="DeadClaimReaper"/>). On shutdown running jobs checkpoint and are released for the next worker.
/// </summary>
public sealed class TrainingWorker(
    JobStore jobs,
    Func<int, ChildSupervisor> supervisors,
    DataDirectoryJanitor janitor,
    DeadClaimReaper reaper,
    IOptions<RnnLmOptions> options,
    ILogger<TrainingWorker> logger,
    TrainingWorkerSwitch? workerSwitch = null) : BackgroundService
{
    /// <summary>How often a worker looks for jobs held by dead processes of its own machine.</summary>
    private static readonly TimeSpan DeadClaimScanInterval = TimeSpan.FromSeconds(30);

    private readonly WorkerOptions _options = options.Value.Worker;

    /// <summary>This worker's identity in job claims (see <see cref="DeadClaimReaper"/>).</summary>
    public string WorkerId { get; } = DeadClaimReaper.NewWorkerId();

    /// <summary>Ids of the jobs this worker has claimed (for tests and diagnostics).</summary>
    public ConcurrentQueue<string> ClaimedJobs { get; } = new();

    /// <summary>Ids of the claims this worker has finished supervising, in order (for tests and diagnostics).</summary>
    public ConcurrentQueue<string> FinishedClaims { get; } = new();

    /// <summary>Whether this worker runs inside the API (one core is then left to serving).</summary>
    private bool InsideApi => workerSwitch?.IgnoreEnabledSetting != true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        if (!_options.Enabled && !(workerSwitch?.IgnoreEnabledSetting ?? false))
        {
            logger.LogInformation("The in-process training worker is off (RnnLm:Worker:Enabled=false)");
            return;
        }
        var threads = options.Value.Worker.EffectiveTorchThreads(InsideApi);
        logger.LogInformation("Training worker {WorkerId} started: {Concurrency} concurrent job(s), each its own process with {TorchThreads} torch thread(s)",
            WorkerId, _options.Concurrency, threads);
        await reaper.ReapAsync();
        try { await janitor.CleanAsync(stoppingToken); }
        catch (Exception e) when (StoreFailures.IsTransient(e) || e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Start-up clean-up of the data directory skipped: {Reason}", e.Message);
        }

        using var slots = new SemaphoreSlim(_options.Concurrency);
        var running = new ConcurrentDictionary<string, Task>();
        var failures = 0;
        var lastDeadScan = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (lastDeadScan.Elapsed >= DeadClaimScanInterval)
                {
                    await reaper.ReapAsync();
                    lastDeadScan.Restart();
                }
                await slots.WaitAsync(stoppingToken);
                Core.Storage.Database.TrainingJobRecord? job;
                try
                {
                    // Not cancellable: a claim committed but never returned would strand the job until its lease ran out.
                    job = await jobs.ClaimAsync(WorkerId, _options.LeaseDuration, CancellationToken.None);
                    failures = 0;
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    slots.Release();
                    failures++;
                    var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, _options.PollInterval.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 10))));
                    logger.LogWarning("Worker {WorkerId} cannot reach the store ({Reason}); retrying in {Delay}", WorkerId, e.Message, delay);
                    await Task.Delay(delay, stoppingToken);
                    continue;
                }
                if (job is null)
                {
                    slots.Release();
                    await Task.Delay(_options.PollInterval, stoppingToken);
                    continue;
                }

                ClaimedJobs.Enqueue(job.Id);
                var claim = job.ClaimToken!;
                var task = Task.Run(async () =>
                {
                    try { await supervisors(threads).RunAsync(job, stoppingToken); }
                    catch (Exception e) { logger.LogError(e, "Job {JobId} ended with an unexpected error in the worker; its lease will expire and it is retried", job.Id); }
                    finally
                    {
                        FinishedClaims.Enqueue(claim);
                        slots.Release();
                    }
                }, CancellationToken.None);
                running[claim] = task;
                _ = task.ContinueWith(_ => running.TryRemove(claim, out Task? _), TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Running jobs see the stopping token: their processes checkpoint and the jobs are released.
            await Task.WhenAll(running.Values);
            logger.LogInformation("Training worker {WorkerId} stopped", WorkerId);
        }
    }
}
