using Microsoft.EntityFrameworkCore;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Core.Storage.Sweeps;

/// <summary>What a client asks to sweep: the sweep's name, dataset, base job fields and grid (JSON as sent).</summary>
public sealed record NewSweep(string Name, string DatasetId, string BaseJson, string GridJson);

/// <summary>One validated point: its grid values (JSON) and the ordinary job to queue for it.</summary>
public sealed record NewSweepPoint(string ValuesJson, NewTrainingJob Job);

/// <summary>A point with its job as it stands now and the model version the job produced, if any.</summary>
public sealed record SweepPointView(SweepPointRecord Point, TrainingJobRecord Job, ModelVersionRecord? Version);

/// <summary>A sweep with its points in grid order.</summary>
public sealed record SweepView(SweepRecord Sweep, IReadOnlyList<SweepPointView> Points);

/// <summary>A sweep with how many of its jobs are in each status.</summary>
public sealed record SweepSummary(SweepRecord Sweep, IReadOnlyDictionary<JobStatus, int> Jobs);

/// <summary>
/// Sweeps and their points. A sweep's jobs are ordinary jobs (any worker claims them); creating a sweep queues them
/// all with the sweep in one transaction, so a sweep is never left with some of its jobs.
/// </summary>
public sealed class SweepStore(IDbContextFactory<RnnLmDbContext> dbFactory, JobStore jobs, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Records the sweep and queues one job per point, all or nothing.</summary>
    public async Task<SweepView> CreateAsync(NewSweep sweep, IReadOnlyList<NewSweepPoint> points, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(points.Count);
        await using var db = dbFactory.CreateDbContext();
        var now = _clock.GetUtcNow().UtcDateTime;
        var record = new SweepRecord
        {
            Id = Guid.CreateVersion7().ToString("N"),
            Name = sweep.Name,
            DatasetId = sweep.DatasetId,
            BaseJson = sweep.BaseJson,
            GridJson = sweep.GridJson,
            Points = points.Count,
            CreatedAt = now,
        };
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Sweeps.Add(record);
        var views = new List<SweepPointView>(points.Count);
        for (var i = 0; i < points.Count; i++)
        {
            var job = JobStore.AddQueued(db, points[i].Job, now);
            var point = new SweepPointRecord { SweepId = record.Id, PointIndex = i, ValuesJson = points[i].ValuesJson, JobId = job.Id };
            db.SweepPoints.Add(point);
            views.Add(new SweepPointView(point, job, null));
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new SweepView(record, views);
    }

    /// <summary>The sweep with each point's job and produced version, or null.</summary>
    public async Task<SweepView?> GetAsync(string id, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var sweep = await db.Sweeps.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
        if (sweep is null) return null;
        var points = await db.SweepPoints.AsNoTracking().Where(p => p.SweepId == id).OrderBy(p => p.PointIndex).ToListAsync(ct);
        var jobIds = points.Select(p => p.JobId).ToList();
        var jobsById = await db.TrainingJobs.AsNoTracking().Where(j => jobIds.Contains(j.Id)).ToDictionaryAsync(j => j.Id, ct);
        var versions = await db.ModelVersions.AsNoTracking().Where(v => v.JobId != null && jobIds.Contains(v.JobId)).ToDictionaryAsync(v => v.JobId!, ct);
        return new SweepView(sweep, points.Select(p => new SweepPointView(p, jobsById[p.JobId], versions.GetValueOrDefault(p.JobId))).ToList());
    }

    /// <summary>Sweeps newest first, each with its jobs counted by status.</summary>
    public async Task<(IReadOnlyList<SweepSummary> Items, int Total)> ListAsync(int offset = 0, int limit = 50, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var total = await db.Sweeps.CountAsync(ct);
        var sweeps = await db.Sweeps.AsNoTracking().OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id)
            .Skip(offset).Take(limit).ToListAsync(ct);
        var ids = sweeps.Select(s => s.Id).ToList();
        var statuses = await (from p in db.SweepPoints
                              join j in db.TrainingJobs on p.JobId equals j.Id
                              where ids.Contains(p.SweepId)
                              select new { p.SweepId, j.Status }).ToListAsync(ct);
        var counts = statuses.GroupBy(s => s.SweepId).ToDictionary(
            g => g.Key, g => (IReadOnlyDictionary<JobStatus, int>)g.GroupBy(s => s.Status).ToDictionary(s => s.Key, s => s.Count()));
        return (sweeps.Select(s => new SweepSummary(s, counts.GetValueOrDefault(s.Id) ?? new Dictionary<JobStatus, int>())).ToList(), total);
    }

    /// <summary>
    /// Cancels every job of the sweep that has not ended (queued ones at once, running ones at their worker's next
    /// heartbeat). <see cref="NotFoundException"/> for an unknown sweep; <see cref="ConflictException"/> when all its jobs had ended.
    /// </summary>
    public async Task<SweepView> CancelAsync(string id, CancellationToken ct = default)
    {
        var sweep = await GetAsync(id, ct) ?? throw new NotFoundException("sweep", id);
        var open = sweep.Points.Where(p => !p.Job.IsTerminal).ToList();
        if (open.Count == 0)
            throw new ConflictException($"Every job of sweep '{id}' has already ended; there is nothing to cancel.");
        foreach (var point in open)
        {
            try { await jobs.RequestCancelAsync(point.Job.Id, ct); }
            catch (ConflictException) { } // it ended between our read and the cancel
        }
        return (await GetAsync(id, ct))!;
    }

    /// <summary>Keeps a point's measured next-word latency, so it is measured once.</summary>
    public async Task RecordLatencyAsync(string sweepId, int pointIndex, double milliseconds, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        await db.SweepPoints.Where(p => p.SweepId == sweepId && p.PointIndex == pointIndex)
            .ExecuteUpdateAsync(u => u.SetProperty(p => p.NextWordLatencyMs, milliseconds), ct);
    }
}
