using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RnnLmService.Core.Configuration;
using RnnLmService.Core;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Worker.Child;

namespace RnnLmService.Worker.Jobs;

/// <summary>
/// Runs one claim of a job as a training process and decides what its end means. Cancel, a lost claim and shutdown
/// send SIGTERM (the process checkpoints and exits) and SIGKILL after <c>StopGrace</c>. Then: a saved model is
/// published; a cancel cancels (checkpoints deleted); a shutdown releases the job (not a crash); a lost claim touches
/// nothing (the new owner's files are its own); a reported job error fails the job; anything else is a crash
/// (<see cref="JobStore.RecordCrashAsync"/>: retried from the checkpoint with back-off, failed after <c>MaxCrashes</c>).
/// </summary>
public sealed class ChildSupervisor(
    JobStore jobs, DatasetStore datasets, ModelVersionStore versions, ModelPublisher publisher, JobPaths paths, IArtifactStore artifacts,
    WorkerOptions options, int torchThreads, TimeProvider clock, ILogger logger, S3StorageOptions? objectStorage = null)
{
    private enum StopReason { None, Cancelled, LeaseLost, Shutdown }

    /// <summary>Runs the claimed <paramref name="job"/> to its end; <paramref name="stopping"/> is the worker's shutdown.</summary>
    public async Task RunAsync(TrainingJobRecord job, CancellationToken stopping)
    {
        var token = job.ClaimToken!;
        if (job.Crashes >= options.MaxCrashes)
        {
            await FailAsync(job, $"The worker running the job stopped without a word {job.Crashes} time(s) in a row without progress; giving up.");
            return;
        }
        var dataset = await datasets.GetAsync(job.DatasetId, CancellationToken.None);
        if (dataset is null)
        {
            await FailAsync(job, $"Dataset '{job.DatasetId}' no longer exists.");
            return;
        }
        string? datasetDir;
        try { datasetDir = await datasets.LocalDirectoryAsync(dataset, CancellationToken.None); }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            await CrashAsync(job, $"The dataset's files could not be fetched from the artifact store ({e.Message}).");
            return;
        }
        if (datasetDir is null)
        {
            await FailAsync(job, $"The files of dataset '{job.DatasetId}' are missing from the artifact store.");
            return;
        }
        var claimDir = paths.ClaimCheckpoints(job.Id, token);
        try { Directory.CreateDirectory(claimDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError(e, "Job {JobId}: cannot create its checkpoint directory {Directory}", job.Id, claimDir);
            await FailAsync(job, "The worker cannot write the job's checkpoints to its data directory (see the worker's log under this job id).");
            return;
        }

        Process process;
        try { process = ChildLauncher.Start(options.ChildEnvironment); }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            logger.LogError(e, "Job {JobId}: the training process could not be started", job.Id);
            await CrashAsync(job, "The training process could not be started (see the worker's log under this job id).");
            return;
        }
        using var _ = process;
        var request = new JobRunRequest(job.Id, job.ModelName, job.SpecJson, dataset.Sha256,
            DatasetStore.SplitPath(datasetDir, "train"), DatasetStore.SplitPath(datasetDir, "valid"), DatasetStore.SplitPath(datasetDir, "test"),
            claimDir, paths.JobCheckpoints(job.Id), paths.Staging(job.Id, token), torchThreads,
            options.CheckpointInterval.TotalSeconds, ReportEverySteps: 10, InitModelDirectory: await ParentDirectoryAsync(job),
            ObjectStorage: objectStorage);
        await process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(request, ChildProtocol.Json));
        await process.StandardInput.FlushAsync(CancellationToken.None);
        logger.LogInformation("Job {JobId} (attempt {Attempt}) trains in process {Pid} with {Threads} torch thread(s)", job.Id, job.Attempts, process.Id, torchThreads);

        var end = await SuperviseAsync(job, process, stopping);
        await ConcludeAsync(job, process, end);
    }

    /// <summary>The directory of a warm start's parent (<c>init</c>), null for a cold start or a parent deleted since (a job that has
    /// checkpointed does not need it; one that has not fails naming <c>init</c>).</summary>
    private async Task<string?> ParentDirectoryAsync(TrainingJobRecord job)
    {
        if (JobSpecJson.Deserialize(job.SpecJson).Init is not { } init) return null;
        var at = init.LastIndexOf('@');
        if (at < 0 || !int.TryParse(init[(at + 1)..], out var version)) return null;
        var record = await StoreFailures.Retry.ExecuteAsync(async ct => await versions.GetAsync(init[..at], version, ct), CancellationToken.None);
        if (record is null) return null;
        try { return await artifacts.GetModelDirectoryAsync(record.ArtifactPath, CancellationToken.None); }
        catch (ModelFormatException e)
        {
            logger.LogWarning("Job {JobId}: the parent {Parent} cannot be read: {Reason}", job.Id, init, e.Reason);
            return null;
        }
    }

    /// <summary>What the supervision saw: why it stopped the process (if it did) and the process's last words.</summary>
    private sealed record Ending(StopReason Reason, bool Saved, int? Version, ChildMessage? Trained, string? FailedReason, bool LeaseLost);

    private async Task<Ending> SuperviseAsync(TrainingJobRecord job, Process process, CancellationToken stopping)
    {
        var messages = Channel.CreateUnbounded<ChildMessage>();
        var reading = ReadMessagesAsync(process, messages.Writer);
        var logging = ForwardLogAsync(job, process);
        var exited = process.WaitForExitAsync(CancellationToken.None);
        var writer = new ProgressWriter(jobs, job, options, logger);
        var tick = TimeSpan.FromMilliseconds(Math.Min(options.HeartbeatInterval.TotalMilliseconds, 250));
        var reason = StopReason.None;
        var termSentAt = (Stopwatch?)null;
        var killed = false;
        var saved = false;
        int? version = null;
        ChildMessage? trained = null;
        string? failed = null;

        while (true)
        {
            await Task.WhenAny(messages.Reader.WaitToReadAsync().AsTask(), exited, Task.Delay(tick, CancellationToken.None));
            while (messages.Reader.TryRead(out var m))
            {
                switch (m.Type)
                {
                    case ChildMessageTypes.Trained:
                        trained = m;
                        writer.Report(m);
                        if (reason == StopReason.None)
                        {
                            version = await StoreFailures.Retry.ExecuteAsync(async ct => await versions.ReserveVersionAsync(job.ModelName, ct), CancellationToken.None);
                            await process.StandardInput.WriteLineAsync($"{ChildProtocol.SaveCommand} {version}");
                            await process.StandardInput.FlushAsync(CancellationToken.None);
                        }
                        break;
                    case ChildMessageTypes.Saved: saved = true; writer.Report(m); break;
                    case ChildMessageTypes.Failed: failed = m.Reason; break;
                    default: writer.Report(m); break;
                }
            }
            if (saved) TestHook.AfterModelSaved();
            await writer.FlushAsync();

            var wanted = writer.LeaseLost ? StopReason.LeaseLost
                : writer.CancelRequested ? StopReason.Cancelled
                : stopping.IsCancellationRequested ? StopReason.Shutdown
                : StopReason.None;
            if (wanted != StopReason.None && reason == StopReason.None && !saved && !exited.IsCompleted)
            {
                reason = wanted;
                logger.LogInformation("Job {JobId}: stopping its training process ({Reason})", job.Id, wanted);
                Signals.Send(process.Id, Signals.Terminate);
                termSentAt = Stopwatch.StartNew();
            }
            else if (wanted == StopReason.LeaseLost) reason = StopReason.LeaseLost;
            if (termSentAt is { } t && !killed && t.Elapsed > options.StopGrace && !exited.IsCompleted)
            {
                logger.LogWarning("Job {JobId}: the training process did not stop within {Grace}; killing it", job.Id, options.StopGrace);
                Signals.Send(process.Id, Signals.Kill);
                killed = true;
            }
            if (exited.IsCompleted && reading.IsCompleted && !messages.Reader.TryPeek(out _)) break;
        }
        await logging;
        // The last reports (a final checkpoint, the epoch's numbers) and a heartbeat before the outcome is written.
        await writer.FlushAsync(heartbeatNow: true);
        return new Ending(reason, saved, version, trained, failed, writer.LeaseLost);
    }

    private async Task ConcludeAsync(TrainingJobRecord job, Process process, Ending end)
    {
        try { process.StandardInput.Close(); } catch (IOException) { }
        var exit = process.ExitCode;
        if (end.Reason == StopReason.LeaseLost || end.LeaseLost)
        {
            // Another worker owns the job now: its record, checkpoints and staging are not ours to touch.
            logger.LogWarning("Job {JobId}: this worker lost its claim; the training process stopped (exit {Exit}) and the new owner carries on", job.Id, exit);
            publisher.TryDelete(paths.Staging(job.Id, job.ClaimToken!));
            return;
        }
        await Retry(async ct => await jobs.AppendEventAsync(job.Id, JobEventTypes.Process,
            new { @event = "exited", exitCode = exit, attempt = job.Attempts }, ct));
        if (end.Saved && end.Version is { } version)
        {
            if (await publisher.PublishAsync(job, version, end.Trained!.MetricsJson!, end.Trained.TestPerplexity, clock.GetUtcNow().UtcDateTime))
                logger.LogInformation("Job {JobId} succeeded: {Model}@{Version}, test perplexity {TestPpl}", job.Id, job.ModelName, version, end.Trained.TestPerplexity);
        }
        else if (end.Reason == StopReason.Cancelled)
        {
            if (await Retry(async ct => await jobs.CompleteCancelledAsync(job.Id, job.ClaimToken!, ct)))
            {
                // A cancelled job leaves no half model: its checkpoints and staging go too.
                publisher.TryDelete(paths.JobCheckpoints(job.Id));
                await publisher.TryDeleteStoredCheckpointsAsync(job.Id);
                publisher.TryDelete(paths.Staging(job.Id, job.ClaimToken!));
            }
            logger.LogInformation("Job {JobId} cancelled", job.Id);
        }
        else if (end.Reason == StopReason.Shutdown)
        {
            await Retry(async ct => await jobs.ReleaseAsync(job.Id, job.ClaimToken!, ct));
            logger.LogInformation("Job {JobId} released on shutdown; another worker resumes it from its checkpoint", job.Id);
        }
        else if (exit == ExitCodes.JobFailed && end.FailedReason is { } reason)
        {
            await FailAsync(job, reason);
        }
        else
        {
            await CrashAsync(job, DescribeExit(exit));
        }
    }

    /// <summary>A person's reading of a crashed training process's exit (.NET reports death by signal N as 128 + N).</summary>
    internal static string DescribeExit(int exitCode) => exitCode switch
    {
        128 + Signals.Kill => "The training process was killed by signal 9 (SIGKILL) — out of memory?",
        128 + 6 => "The training process aborted (signal 6, SIGABRT): an unexpected error; the worker's log has its details.",
        > 128 and < 160 => $"The training process was killed by signal {exitCode - 128} ({Signals.Name(exitCode - 128)}).",
        0 => "The training process exited without finishing.",
        _ => $"The training process exited with code {exitCode}.",
    };

    private async Task CrashAsync(TrainingJobRecord job, string reason)
    {
        var outcome = await Retry(async ct => await jobs.RecordCrashAsync(job.Id, job.ClaimToken!, reason, options.MaxCrashes, Backoff, ct));
        if (outcome is null) logger.LogWarning("Job {JobId}: {Reason} Its claim had already passed on", job.Id, reason);
        else if (outcome.Failed) logger.LogWarning("Job {JobId} failed after {Crashes} crashes: {Reason}", job.Id, outcome.Crashes, reason);
        else logger.LogWarning("Job {JobId}: {Reason} Crash {Crashes} without progress; retried after {RetryAfter:O}", job.Id, reason, outcome.Crashes, outcome.RetryAfter);
    }

    /// <summary><c>CrashBackoff</c> doubled per crash in a row (a crash after progress waits the base), at most 32 times it.</summary>
    private TimeSpan Backoff(int crashes) => options.CrashBackoff * Math.Pow(2, Math.Clamp(crashes - 1, 0, 5));

    private async Task FailAsync(TrainingJobRecord job, string reason)
    {
        logger.LogWarning("Job {JobId} failed: {Reason}", job.Id, reason);
        await Retry(async ct => await jobs.CompleteFailedAsync(job.Id, job.ClaimToken!, reason, ct));
    }

    private static async Task<T> Retry<T>(Func<CancellationToken, ValueTask<T>> write) =>
        await StoreFailures.Retry.ExecuteAsync(write, CancellationToken.None);

    private static async Task ReadMessagesAsync(Process process, ChannelWriter<ChildMessage> writer)
    {
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync()) is not null)
        {
            ChildMessage? m = null;
            try { m = JsonSerializer.Deserialize<ChildMessage>(line, ChildProtocol.Json); }
            catch (JsonException) { }
            if (m is not null) writer.TryWrite(m);
        }
        writer.TryComplete();
    }

    private async Task ForwardLogAsync(TrainingJobRecord job, Process process)
    {
        string? line;
        while ((line = await process.StandardError.ReadLineAsync()) is not null)
            logger.LogInformation("[job {JobId}] {Line}", job.Id[..8], line);
    }

    /// <summary>
    /// For the crash tests only: <c>RNNLM_TEST_WORKER_EXIT_AFTER_MODEL_SAVED=1</c> in the worker's environment ends the
    /// worker process right after its training process saved the model, before the job is completed.
    /// </summary>
    private static class TestHook
    {
        private static readonly bool Exit = Environment.GetEnvironmentVariable("RNNLM_TEST_WORKER_EXIT_AFTER_MODEL_SAVED") == "1";
        public static void AfterModelSaved() { if (Exit) Environment.Exit(70); }
    }
}
