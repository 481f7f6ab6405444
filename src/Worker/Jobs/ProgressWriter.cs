using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Training;
using RnnLmService.Worker.Child;

namespace RnnLmService.Worker.Jobs;

/// <summary>
/// Writes one claim's heartbeats, progress and events to the store, always with the claim's token: the parent is the
/// only writer (the training process never touches the database). Heartbeats go on from the claim to the end of
/// publishing, through the final evaluation and saving. Events keep the order the child reported them in; step
/// progress is throttled to one event every <see cref="ProgressEventInterval"/>. Used from one task at a time.
/// </summary>
public sealed class ProgressWriter(JobStore jobs, TrainingJobRecord job, WorkerOptions options, ILogger logger)
{
    private static readonly TimeSpan ProgressEventInterval = TimeSpan.FromSeconds(2);

    private readonly string _token = job.ClaimToken!;
    private readonly Queue<ChildMessage> _events = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Stopwatch _sinceHeartbeat = Stopwatch.StartNew();
    private readonly Stopwatch _sinceProgressEvent = Stopwatch.StartNew();
    private TrainingProgress? _latest;
    private TrainingProgress? _written;
    private bool _storeDown;

    /// <summary>True once a heartbeat or write found the claim gone (another worker owns the job now).</summary>
    public bool LeaseLost { get; private set; }

    /// <summary>True once a heartbeat saw the client's cancel request.</summary>
    public bool CancelRequested { get; private set; }

    /// <summary>Takes a child's report: step progress replaces the latest; everything else is written in order.</summary>
    public void Report(ChildMessage message)
    {
        if (message is { Type: ChildMessageTypes.Progress, Progress: { Kind: ProgressKind.Step } p }) _latest = p;
        else _events.Enqueue(message);
    }

    /// <summary>Writes what is due (events, throttled progress, the heartbeat); store outages are logged and retried next time.</summary>
    public async Task FlushAsync(bool heartbeatNow = false)
    {
        if (LeaseLost) return;
        try
        {
            while (_events.TryPeek(out var m))
            {
                await WriteEventAsync(m);
                _events.Dequeue();
            }
            if (_latest is { } p && !ReferenceEquals(p, _written) && _sinceProgressEvent.Elapsed >= ProgressEventInterval)
                await WriteProgressAsync(p);
            if (heartbeatNow || _sinceHeartbeat.Elapsed >= options.HeartbeatInterval)
            {
                var beat = await jobs.HeartbeatAsync(job.Id, _token, options.LeaseDuration, CancellationToken.None);
                _sinceHeartbeat.Restart();
                CancelRequested |= beat.CancelRequested;
            }
            if (_storeDown) logger.LogInformation("Job {JobId}: the store is reachable again", job.Id);
            _storeDown = false;
        }
        catch (LeaseLostException)
        {
            LeaseLost = true;
        }
        catch (Exception e) when (StoreFailures.IsTransient(e))
        {
            if (!_storeDown)
                logger.LogWarning("Job {JobId}: the store is unreachable ({Reason}); training continues and the heartbeat retries", job.Id,
                    e is InvalidOperationException { InnerException: { } inner } ? inner.Message : e.Message);
            _storeDown = true;
        }
    }

    private async Task WriteEventAsync(ChildMessage m)
    {
        var ok = m.Type switch
        {
            ChildMessageTypes.Progress => await WriteProgressAsync(m.Progress!),
            ChildMessageTypes.Resumed => await jobs.MarkResumedAsync(job.Id, _token, m.Epoch ?? 0, m.Step ?? 0, CancellationToken.None),
            ChildMessageTypes.Checkpointed => await jobs.MarkCheckpointAsync(job.Id, _token, m.Epoch ?? 0, m.Step ?? 0, m.GlobalStep ?? 0, CancellationToken.None),
            _ => await AppendProcessEventAsync(m),
        };
        if (!ok) throw new LeaseLostException(job.Id, _token);
    }

    private async Task<bool> AppendProcessEventAsync(ChildMessage m)
    {
        await jobs.AppendEventAsync(job.Id, JobEventTypes.Process, new
        {
            @event = m.Type, pid = m.Pid, torchThreads = m.TorchThreads, attempt = job.Attempts,
            baselineRssBytes = m.BaselineRssBytes, peakRssBytes = m.PeakRssBytes, reason = m.Reason,
        }, CancellationToken.None);
        return true;
    }

    private async Task<bool> WriteProgressAsync(TrainingProgress p)
    {
        var ok = await jobs.UpdateProgressAsync(job.Id, _token, p, job.RunSeconds + _clock.Elapsed.TotalSeconds, writeEvent: true, CancellationToken.None);
        _written = p;
        _sinceProgressEvent.Restart();
        return ok;
    }
}
