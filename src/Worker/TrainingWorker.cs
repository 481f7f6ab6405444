using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Worker;

/// <summary>
/// Claims queued jobs (up to <c>RnnLm:Worker:Concurrency</c> at once) and runs each on its own thread through
/// <see cref="IJobRunner"/>; heartbeats renew the lease and read the cancel flag; progress and events go to the
/// store; a finished model is moved into place and registered. On shutdown a running job checkpoints and is
/// released for the next worker; a failure is recorded with its message and keeps the checkpoint.
/// </summary>
public sealed class TrainingWorker(
    JobStore jobs,
    DatasetStore datasets,
    ModelVersionStore versions,
    IJobRunner runner,
    IOptions<RnnLmOptions> options,
    ILogger<TrainingWorker> logger,
    TrainingWorkerSwitch? workerSwitch = null) : BackgroundService
{
    private static readonly TimeSpan ProgressEventInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ShutdownCheckpointGrace = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A job claimed this often without finishing is failed, not retried forever (a job that crashes its worker each
    /// time). Graceful releases count too, hence the generous number.
    /// </summary>
    internal const int MaxAttempts = 20;

    private readonly RnnLmOptions _options = options.Value;
    private readonly ResiliencePipeline _retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsStoreFailure),
            MaxRetryAttempts = 8,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(10),
            UseJitter = true,
        })
        .Build();

    /// <summary>How often a worker looks for jobs held by dead processes of its own machine.</summary>
    private static readonly TimeSpan DeadClaimScanInterval = TimeSpan.FromSeconds(30);

    /// <summary>
    /// This worker's identity in job claims: <c>{machine}/{boot id}/{process id}/{random}</c>. The machine and boot id
    /// let a worker on the same machine tell that a claim's process is gone (killed, crashed) and take the job at once.
    /// </summary>
    public string WorkerId { get; } = $"{LocalMachinePrefix}{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary><c>{machine}/{boot id}/</c>, or null-equivalent "" parts when the boot id is unknown (not Linux).</summary>
    internal static readonly string LocalMachinePrefix = $"{Environment.MachineName}/{BootId()}/";

    private static string BootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim()[..8]; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return "noboot"; }
    }

    /// <summary>Ids of the jobs this worker has claimed (for tests and diagnostics).</summary>
    public ConcurrentQueue<string> ClaimedJobs { get; } = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var w = _options.Worker;
        if (!w.Enabled && workerSwitch?.IgnoreEnabledSetting != true)
        {
            logger.LogInformation("The in-process training worker is off (RnnLm:Worker:Enabled=false)");
            return;
        }
        logger.LogInformation("Training worker {WorkerId} started: {Concurrency} concurrent job(s), {TorchThreads} torch thread(s) each",
            WorkerId, w.Concurrency, w.TorchThreads);
        if (!NativeMemory.KeepsFreedMemory())
            logger.LogInformation("GLIBC_TUNABLES lacks {Tunables}: training steps will page-fault their buffers in afresh (about 3x slower on the benchmark VM; scripts/run.sh and the container image set it)",
                NativeMemory.RecommendedTunables);
        using var slots = new SemaphoreSlim(w.Concurrency);
        var running = new ConcurrentDictionary<string, Task>();
        var failures = 0;
        var lastDeadScan = (Stopwatch?)null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (lastDeadScan is null || lastDeadScan.Elapsed >= DeadClaimScanInterval)
                {
                    await ReleaseDeadLocalClaimsAsync();
                    lastDeadScan = Stopwatch.StartNew();
                }
                await slots.WaitAsync(stoppingToken);
                TrainingJobRecord? job;
                try
                {
                    // Not cancellable: a claim committed but never returned would strand the job until its lease ran out.
                    job = await jobs.ClaimAsync(WorkerId, w.LeaseDuration, CancellationToken.None);
                    failures = 0;
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    slots.Release();
                    failures++;
                    var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, w.PollInterval.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 10))));
                    logger.LogWarning("Worker {WorkerId} cannot reach the store ({Reason}); retrying in {Delay}", WorkerId, e.Message, delay);
                    await Task.Delay(delay, stoppingToken);
                    continue;
                }

                if (job is null)
                {
                    slots.Release();
                    await Task.Delay(w.PollInterval, stoppingToken);
                    continue;
                }

                ClaimedJobs.Enqueue(job.Id);
                var task = Task.Run(async () =>
                {
                    try { await RunJobAsync(job, stoppingToken); }
                    catch (Exception e) { logger.LogError(e, "Job {JobId} ended with an unexpected error in the worker", job.Id); }
                    finally
                    {
                        // The last running job hands the heap it kept back to the kernel; an idle worker should not hold ~0.5 GB.
                        if (running.Count(r => !r.Value.IsCompleted) <= 1) NativeMemory.ReturnFreedMemory();
                        slots.Release();
                    }
                }, CancellationToken.None);
                running[job.Id] = task;
                _ = task.ContinueWith(_ => running.TryRemove(job.Id, out Task? _), TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Running jobs see the stopping token: they checkpoint and are released.
            await Task.WhenAll(running.Values);
            logger.LogInformation("Training worker {WorkerId} stopped", WorkerId);
        }
    }

    /// <summary>
    /// Jobs claimed by a process of this machine (same boot) that no longer exists — a worker killed with SIGKILL and
    /// restarted — are made claimable now rather than when their lease runs out. A live process's claim is never touched.
    /// </summary>
    private async Task ReleaseDeadLocalClaimsAsync()
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
        catch (Exception e) when (e is DbException or DbUpdateException or TimeoutException or InvalidOperationException)
        {
            logger.LogWarning("Could not look for jobs held by dead local workers: {Reason}", e.Message);
        }

        static bool IsAlive(int pid)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                return !p.HasExited;
            }
            catch (ArgumentException) { return false; }
            catch (InvalidOperationException) { return false; }
        }
    }

    private enum StopReason { None, Cancelled, LeaseLost, Shutdown }

    private async Task RunJobAsync(TrainingJobRecord job, CancellationToken stoppingToken)
    {
        var w = _options.Worker;
        logger.LogInformation("Worker {WorkerId} runs job {JobId} (model {Model}, attempt {Attempt})", WorkerId, job.Id, job.ModelName, job.Attempts);
        if (job.Attempts > MaxAttempts)
        {
            await FailAsync(job, $"The job was started {job.Attempts} times without finishing (its workers stopped or lost it each time); giving up. Its last checkpoint is kept.");
            return;
        }
        if (stoppingToken.IsCancellationRequested)
        {
            await _retry.ExecuteAsync(async ct => await jobs.ReleaseAsync(job.Id, WorkerId, ct), CancellationToken.None);
            return;
        }
        using var stop = new CancellationTokenSource();
        var reason = StopReason.None;
        var shutdownAt = (DateTime?)null;
        var lastCheckpoint = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        RunProgress? latest = null;
        // Events in the order they happened: resumes, checkpoints and epoch-end progress (step progress is throttled apart).
        var notes = new ConcurrentQueue<(string Type, int Epoch, long Step, RunProgress? Progress)>();
        var checkpointedAfterShutdown = false;

        void Stop(StopReason r)
        {
            if (reason == StopReason.None) reason = r;
            stop.Cancel();
        }

        await using var onShutdown = stoppingToken.Register(() =>
        {
            // Ask for a checkpoint at the next batch boundary; the token is cancelled once it is written (or after a grace).
            if (reason == StopReason.None) reason = StopReason.Shutdown;
            shutdownAt = DateTime.UtcNow;
        });

        string checkpointDir;
        DatasetRecord? dataset;
        try
        {
            dataset = await datasets.GetAsync(job.DatasetId, CancellationToken.None);
            if (dataset is null)
            {
                await FailAsync(job, $"Dataset '{job.DatasetId}' no longer exists.");
                return;
            }
            checkpointDir = Path.Combine(_options.DataPath, "checkpoints", job.Id);
            Directory.CreateDirectory(checkpointDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await FailAsync(job, $"Cannot prepare the job's directories under the data directory {_options.DataPath}: {e.Message}");
            return;
        }

        var context = new JobRunContext
        {
            Job = job,
            Dataset = dataset,
            TrainPath = datasets.SplitPath(dataset, "train"),
            ValidPath = datasets.SplitPath(dataset, "valid"),
            TestPath = datasets.SplitPath(dataset, "test"),
            CheckpointDirectory = checkpointDir,
            TorchThreads = w.TorchThreads,
            Cancellation = stop.Token,
            Checkpoint = () => shutdownAt is not null || lastCheckpoint.Elapsed >= w.CheckpointInterval,
            Progress = p =>
            {
                latest = p;
                if (p.EpochEnded) notes.Enqueue((JobEventTypes.Progress, p.Epoch, p.GlobalStep, p));
            },
            Resumed = (epoch, step) => notes.Enqueue((JobEventTypes.Resumed, epoch, step, null)),
            Checkpointed = (epoch, step) =>
            {
                lastCheckpoint.Restart();
                notes.Enqueue((JobEventTypes.Checkpoint, epoch, step, null));
                if (shutdownAt is not null)
                {
                    checkpointedAfterShutdown = true;
                    stop.Cancel();
                }
            },
            Logger = logger,
        };

        // The runner gets a dedicated OS thread: LibTorch's thread settings are per thread, and training blocks.
        var done = new TaskCompletionSource<JobOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try { done.SetResult(runner.Run(context)); }
            catch (Exception e) { done.SetException(e); }
        })
        {
            IsBackground = true,
            Name = $"train-{job.Id[..8]}",
        };
        thread.Start();

        // Heartbeats, progress and events while the thread trains.
        var tick = TimeSpan.FromMilliseconds(Math.Min(w.HeartbeatInterval.TotalMilliseconds, 500));
        var lastHeartbeat = Stopwatch.StartNew();
        var lastProgressEvent = Stopwatch.StartNew();
        RunProgress? written = null;
        double? lastValid = job.ValidPerplexity;
        var baseSeconds = job.RunSeconds;
        while (!done.Task.IsCompleted)
        {
            await Task.WhenAny(done.Task, Task.Delay(tick, CancellationToken.None));
            if (shutdownAt is { } at && !stop.IsCancellationRequested && DateTime.UtcNow - at > ShutdownCheckpointGrace)
            {
                logger.LogWarning("Job {JobId} wrote no checkpoint within {Grace} of shutdown; stopping it at its last checkpoint", job.Id, ShutdownCheckpointGrace);
                stop.Cancel();
            }
            if (reason == StopReason.LeaseLost) continue;
            try
            {
                await DrainAsync();
                if (lastHeartbeat.Elapsed >= w.HeartbeatInterval)
                {
                    lastHeartbeat.Restart();
                    var beat = await jobs.HeartbeatAsync(job.Id, WorkerId, w.LeaseDuration, CancellationToken.None);
                    if (beat.CancelRequested && reason != StopReason.Shutdown) Stop(StopReason.Cancelled);
                }
            }
            catch (LeaseLostException)
            {
                logger.LogWarning("Worker {WorkerId} lost the lease of job {JobId}; stopping it without touching its record", WorkerId, job.Id);
                Stop(StopReason.LeaseLost);
            }
            catch (Exception e) when (IsStoreFailure(e))
            {
                logger.LogWarning("Job {JobId}: the store is unreachable ({Reason}); training continues and the heartbeat retries", job.Id,
                    e is InvalidOperationException { InnerException: { } inner } ? inner.Message : e.Message);
            }
        }

        JobOutcome? outcome = null;
        Exception? error = null;
        try { outcome = await done.Task; }
        catch (Exception e) { error = e; }

        if (reason == StopReason.LeaseLost) return;
        try { await _retry.ExecuteAsync(async ct => await DrainAsync(), CancellationToken.None); }
        catch (LeaseLostException) { return; }

        if (outcome is not null)
        {
            await SucceedAsync(job, outcome, checkpointDir);
        }
        else if (error is OperationCanceledException && reason == StopReason.Cancelled)
        {
            // A cancelled job leaves no half model: the checkpoint and staging go too.
            await _retry.ExecuteAsync(async ct => await jobs.CompleteCancelledAsync(job.Id, WorkerId, ct), CancellationToken.None);
            TryDelete(checkpointDir);
            logger.LogInformation("Job {JobId} cancelled", job.Id);
        }
        else if (reason == StopReason.Shutdown && (error is OperationCanceledException || error is null))
        {
            await _retry.ExecuteAsync(async ct => await jobs.ReleaseAsync(job.Id, WorkerId, ct), CancellationToken.None);
            logger.LogInformation("Job {JobId} released on shutdown ({Checkpoint}); another worker resumes it", job.Id,
                checkpointedAfterShutdown ? "checkpoint written" : "from its last checkpoint");
        }
        else
        {
            logger.LogWarning(error, "Job {JobId} failed", job.Id);
            await FailAsync(job, Describe(error!));
        }

        async Task DrainAsync()
        {
            while (notes.TryDequeue(out var note))
            {
                if (note.Progress is { } end)
                {
                    await WriteProgressAsync(end, true);
                    written = end;
                    lastProgressEvent.Restart();
                }
                else if (note.Type == JobEventTypes.Resumed)
                    await jobs.MarkResumedAsync(job.Id, WorkerId, note.Epoch, note.Step, CancellationToken.None);
                else
                    await jobs.AppendEventAsync(job.Id, note.Type, new { epoch = note.Epoch, step = note.Step }, CancellationToken.None);
            }
            if (latest is { } p && !ReferenceEquals(p, written))
            {
                var withEvent = lastProgressEvent.Elapsed >= ProgressEventInterval;
                await WriteProgressAsync(p, withEvent);
                written = p;
                if (withEvent) lastProgressEvent.Restart();
            }
        }

        async Task WriteProgressAsync(RunProgress p, bool withEvent)
        {
            // Step reports carry no validation perplexity: repeat the last epoch's.
            if (p.ValidPerplexity is { } v) lastValid = v;
            else if (lastValid is { } last) p = p with { ValidPerplexity = last };
            var progress = new JobProgress(p.Epoch, p.TotalEpochs, p.GlobalStep, p.TotalSteps, p.TrainLoss, p.ValidPerplexity,
                p.BestValidPerplexity, p.TokensPerSecond, p.LearningRate, baseSeconds + clock.Elapsed.TotalSeconds);
            if (!await jobs.UpdateProgressAsync(job.Id, WorkerId, progress, withEvent, CancellationToken.None))
                throw new LeaseLostException(job.Id, WorkerId);
        }
    }

    private async Task SucceedAsync(TrainingJobRecord job, JobOutcome outcome, string checkpointDir)
    {
        using var resources = outcome.Resources;
        try
        {
            var version = await _retry.ExecuteAsync(async ct => await versions.RegisterAsync(job.ModelName, outcome.MetricsJson, job.Id, job.Promote,
                v => PlaceModel(job.ModelName, v, outcome), ct), CancellationToken.None);
            if (!await _retry.ExecuteAsync(async ct => await jobs.CompleteSucceededAsync(job.Id, WorkerId, job.ModelName, version.Version, outcome.TestPerplexity, ct), CancellationToken.None))
                logger.LogWarning("Job {JobId} produced {Model}@{Version} but its lease had passed to another worker", job.Id, job.ModelName, version.Version);
            TryDelete(checkpointDir);
            logger.LogInformation("Job {JobId} succeeded: {Model}@{Version}, test perplexity {TestPpl}", job.Id, job.ModelName, version.Version, outcome.TestPerplexity);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await FailAsync(job, $"Cannot store the trained model under {_options.DataPath}: {e.Message}");
        }
    }

    /// <summary>Writes the model to <c>models/{name}/{version}</c> (the engine writes a temporary directory and renames it); returns the relative path.</summary>
    private string PlaceModel(string name, int version, JobOutcome outcome)
    {
        var relative = Path.Combine("models", name, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var target = Path.Combine(_options.DataPath, relative);
        // The store row for this version is ours (not yet committed): a directory already there is a leftover of a crash before commit.
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        outcome.Save(target, version);
        return relative;
    }

    private async Task FailAsync(TrainingJobRecord job, string reason)
    {
        logger.LogWarning("Job {JobId} failed: {Reason}", job.Id, reason);
        try
        {
            await _retry.ExecuteAsync(async ct => await jobs.CompleteFailedAsync(job.Id, WorkerId, reason, ct), CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Could not record the failure of job {JobId}; its lease will expire and another worker retries it", job.Id);
        }
    }

    /// <summary>
    /// The store could not be reached or answered with a transient error. Npgsql's EF Core execution strategy wraps
    /// such errors (a server shutting down, a refused connection) in an <see cref="InvalidOperationException"/>
    /// ("likely due to a transient failure"), so the wrapper counts when it carries a database error.
    /// </summary>
    internal static bool IsStoreFailure(Exception e) =>
        e is DbException or DbUpdateException or TimeoutException
        || (e is InvalidOperationException && e.InnerException is DbException or DbUpdateException or TimeoutException);

    /// <summary>A client-facing reason: the message, without a stack; unexpected types are named.</summary>
    internal static string Describe(Exception e) => e switch
    {
        InvalidSettingException s => $"{s.Field}: {s.Reason}",
        IOException or UnauthorizedAccessException or ModelFormatException or NotFoundException => e.Message,
        OperationCanceledException => "Training stopped unexpectedly.",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    private void TryDelete(string directory)
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
