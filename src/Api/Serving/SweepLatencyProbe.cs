using System.Diagnostics;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Models;
using RnnLmService.Core;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Sweeps;

namespace RnnLmService.Api.Serving;

/// <summary>
/// Measures a sweep point's next-word latency on its loaded model, through the serving path a client's
/// <c>next-word</c> takes (the model's scheduler thread, this server's torch threads and batching): one warm-up call,
/// then <see cref="TimedCalls"/> timed calls (top 10) on different lines of the dataset's test split, so the state
/// cache does not answer them; the median is kept in the store, so each point is measured once. Measured once all of the
/// sweep's jobs have ended, so its points are timed back to back rather than beside their siblings' training. A model that was not
/// loaded is unloaded again afterwards. Measured when the sweep is read, not when the model is published, because
/// training runs in worker processes that may be on other machines than the servers that answer.
/// </summary>
public sealed class SweepLatencyProbe(ModelRegistry registry, SweepStore sweeps, DatasetStore datasets, ILogger<SweepLatencyProbe> logger)
{
    /// <summary>Timed calls per point (after one warm-up).</summary>
    public const int TimedCalls = 5;

    /// <summary>Longest context taken from a test line, in characters.</summary>
    private const int ContextCharacters = 200;

    private static readonly string[] FallbackContexts =
    [
        "in the beginning", "and it came to pass that", "the next word after these words is",
        "a language model reads this line", "one more context for the timing", "and the last one of them",
    ];

    /// <summary>The view with the latency of each succeeded point that had none measured and recorded (points that cannot be measured now stay null).</summary>
    public async Task<SweepView> MeasureMissingAsync(SweepView view, CancellationToken ct)
    {
        // Not while the sweep's own jobs train on this machine's cores: all its points are measured back to back, under like conditions.
        if (view.Points.Any(p => !p.Job.IsTerminal)) return view;
        var missing = view.Points.Where(p => p.Job.Status == JobStatus.Succeeded && p.Version is not null && p.Point.NextWordLatencyMs is null).ToList();
        if (missing.Count == 0) return view;
        var contexts = await ContextsAsync(view.Sweep.DatasetId, ct);
        var points = view.Points.ToList();
        foreach (var p in missing)
        {
            var ms = await MeasureAsync(ModelAddress.Key(p.Version!.Name, p.Version.Version), contexts, ct);
            if (ms is null) continue;
            await sweeps.RecordLatencyAsync(view.Sweep.Id, p.Point.PointIndex, ms.Value, ct);
            points[points.IndexOf(p)] = p with { Point = new SweepPointRecord
            {
                SweepId = p.Point.SweepId, PointIndex = p.Point.PointIndex, ValuesJson = p.Point.ValuesJson, JobId = p.Point.JobId, NextWordLatencyMs = ms,
            } };
        }
        return view with { Points = points };
    }

    private async Task<double?> MeasureAsync(string model, IReadOnlyList<string> contexts, CancellationToken ct)
    {
        try
        {
            var wasLoaded = registry.IsLoaded(model);
            using var lease = await registry.AcquireAsync(model, ct, keepAlive: wasLoaded ? null : TimeSpan.Zero);
            await lease.Model.NextWordAsync(new NextWordQuery(contexts[0], TopK: 10), ct);
            var times = new double[TimedCalls];
            for (var i = 0; i < TimedCalls; i++)
            {
                var clock = Stopwatch.StartNew();
                await lease.Model.NextWordAsync(new NextWordQuery(contexts[(i + 1) % contexts.Count], TopK: 10), ct);
                times[i] = clock.Elapsed.TotalMilliseconds;
            }
            Array.Sort(times);
            return times[TimedCalls / 2];
        }
        catch (Exception e) when (e is ServiceException or NotFoundException or ModelFormatException or InvalidSettingException)
        {
            // Busy (all model slots in use), deleted, or unloadable now: the next read tries again.
            logger.LogInformation("Next-word latency of {Model} not measured now: {Reason}", model, e.Message);
            return null;
        }
    }

    /// <summary>Up to <see cref="TimedCalls"/> + 1 non-empty lines of the dataset's test split; fixed sentences when it is gone.</summary>
    private async Task<IReadOnlyList<string>> ContextsAsync(string datasetId, CancellationToken ct)
    {
        try
        {
            // Through the artifact store: with the s3 provider the dataset's files are fetched into the local cache.
            if (await datasets.GetAsync(datasetId, ct) is { } dataset && await datasets.LocalDirectoryAsync(dataset, ct) is { } directory
                && File.Exists(DatasetStore.SplitPath(directory, "test")))
            {
                var lines = new List<string>();
                await foreach (var line in File.ReadLinesAsync(DatasetStore.SplitPath(directory, "test"), ct))
                {
                    if (string.IsNullOrWhiteSpace(line)) continue;
                    var trimmed = line.Trim();
                    lines.Add(trimmed.Length <= ContextCharacters ? trimmed : trimmed[..ContextCharacters]);
                    if (lines.Count > TimedCalls) break;
                }
                if (lines.Count > 0) return lines;
            }
        }
        catch (Exception e) when (e is IOException or Amazon.Runtime.AmazonServiceException)
        {
            logger.LogInformation("Test split of dataset {Dataset} unreadable for latency contexts: {Reason}", datasetId, e.Message);
        }
        return FallbackContexts;
    }
}
