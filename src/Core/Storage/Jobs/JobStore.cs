using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Storage.Jobs;

/// <summary>What a client asks to train.</summary>
/// <param name="ModelName">The name the produced version is registered under.</param>
/// <param name="DatasetId">The dataset to train on.</param>
/// <param name="SpecJson">The validated hyperparameters.</param>
/// <param name="Priority">Higher runs first.</param>
/// <param name="Promote">Make the produced version the default model on success.</param>
/// <param name="UniqueKey">Optional: a second enqueue with the same key returns the first job.</param>
/// <param name="SubmittedBy">Who queued it (the key's limit partition), for per-key limits; null for the service's own jobs.</param>
public sealed record NewTrainingJob(string ModelName, string DatasetId, string SpecJson, int Priority = 0, bool Promote = false, string? UniqueKey = null,
    string? SubmittedBy = null);

/// <summary>One page of jobs, newest first.</summary>
public sealed record JobPage(IReadOnlyList<TrainingJobRecord> Items, int Total, int Offset, int Limit);

/// <summary>What a heartbeat learns: the client asked to cancel.</summary>
public sealed record HeartbeatResult(bool CancelRequested);

/// <summary>What a recorded crash did to the job: queued again (retried after <paramref name="RetryAfter"/>) or failed.</summary>
public sealed record CrashOutcome(bool Failed, int Crashes, DateTime? RetryAfter);

/// <summary>
/// The durable job queue. Every state change is one atomic statement guarded by the expected state (and, for a
/// worker, by its claim), and writes a <c>status</c> event in the same transaction, so the PostgreSQL provider
/// drops in for many processes: claims use <c>FOR UPDATE SKIP LOCKED</c> there and SQLite's single writer here.
/// </summary>
public sealed class JobStore(IDbContextFactory<RnnLmDbContext> dbFactory, TimeProvider? clock = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    private DateTime Now => _clock.GetUtcNow().UtcDateTime;

    /// <summary>Queues a job; with a <see cref="NewTrainingJob.UniqueKey"/> already used, returns that job instead.</summary>
    public async Task<TrainingJobRecord> EnqueueAsync(NewTrainingJob job, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        if (job.UniqueKey is not null)
        {
            var existing = await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(j => j.UniqueKey == job.UniqueKey, ct);
            if (existing is not null) return existing;
        }

        var record = AddQueued(db, job, Now);
        try
        {
            await db.SaveChangesAsync(ct);
            return record;
        }
        catch (DbUpdateException e) when (job.UniqueKey is not null && DbErrors.IsUniqueViolation(e))
        {
            // Another process enqueued the same key between our look and our insert.
            await using var db2 = dbFactory.CreateDbContext();
            return await db2.TrainingJobs.AsNoTracking().FirstAsync(j => j.UniqueKey == job.UniqueKey, ct);
        }
    }

    /// <summary>
    /// Adds a queued job and its <c>queued</c> event to <paramref name="db"/> without saving, so a caller can queue
    /// several jobs (a sweep's points) in one transaction. The unique key is not looked up here.
    /// </summary>
    internal static TrainingJobRecord AddQueued(RnnLmDbContext db, NewTrainingJob job, DateTime now)
    {
        var record = new TrainingJobRecord
        {
            Id = Guid.CreateVersion7().ToString("N"),
            Status = JobStatus.Queued,
            ModelName = job.ModelName,
            DatasetId = job.DatasetId,
            SpecJson = job.SpecJson,
            Priority = job.Priority,
            Promote = job.Promote,
            UniqueKey = job.UniqueKey,
            SubmittedBy = job.SubmittedBy,
            CreatedAt = now,
        };
        db.TrainingJobs.Add(record);
        db.JobEvents.Add(Event(record.Id, now, JobEventTypes.Status, new { status = "queued" }));
        return record;
    }

    public async Task<TrainingJobRecord?> GetAsync(string id, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, ct);
    }

    /// <summary>Jobs newest first, optionally of one status.</summary>
    public async Task<JobPage> ListAsync(JobStatus? status = null, int offset = 0, int limit = 50, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var q = db.TrainingJobs.AsNoTracking();
        if (status is { } s) q = q.Where(j => j.Status == s);
        var total = await q.CountAsync(ct);
        var items = await q.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Skip(offset).Take(limit).ToListAsync(ct);
        return new JobPage(items, total, offset, limit);
    }

    /// <summary>
    /// The queued or running job that will produce a version of <paramref name="modelName"/> (any model when null; then
    /// jobs that promote come first): a running one first, else the next to run. Null when none will.
    /// </summary>
    public async Task<TrainingJobRecord?> PendingForModelAsync(string? modelName, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var q = db.TrainingJobs.AsNoTracking().Where(j => j.Status == JobStatus.Queued || j.Status == JobStatus.Running);
        if (modelName is not null) q = q.Where(j => j.ModelName == modelName);
        var pending = await q.OrderByDescending(j => j.Priority).ThenBy(j => j.CreatedAt).Take(100).ToListAsync(ct);
        return pending.OrderByDescending(j => j.Promote).ThenBy(j => j.Status == JobStatus.Running ? 0 : 1).FirstOrDefault();
    }

    /// <summary>Queued jobs, all or those <paramref name="submittedBy"/> queued.</summary>
    public async Task<int> CountQueuedAsync(string? submittedBy = null, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var q = db.TrainingJobs.Where(j => j.Status == JobStatus.Queued);
        if (submittedBy is not null) q = q.Where(j => j.SubmittedBy == submittedBy);
        return await q.CountAsync(ct);
    }

    /// <summary>Whether a queued or running job trains on the dataset.</summary>
    public async Task<bool> IsDatasetInUseAsync(string datasetId, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.TrainingJobs.AnyAsync(j => j.DatasetId == datasetId && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running), ct);
    }

    /// <summary>
    /// Cancels a queued job at once; flags a running one for its worker (which stops at its next heartbeat).
    /// A finished job → <see cref="ConflictException"/>; an unknown one → <see cref="NotFoundException"/>.
    /// </summary>
    public async Task<TrainingJobRecord> RequestCancelAsync(string id, CancellationToken ct = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var db = dbFactory.CreateDbContext();
            var job = await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, ct)
                      ?? throw new NotFoundException("training job", id);
            if (job.IsTerminal)
                throw new ConflictException($"Job '{id}' is already {JobStatuses.ToText(job.Status)}; only queued or running jobs can be cancelled.");

            var now = Now;
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            int changed;
            if (job.Status == JobStatus.Queued)
            {
                changed = await db.TrainingJobs.Where(j => j.Id == id && j.Status == JobStatus.Queued)
                    .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Cancelled)
                        .SetProperty(j => j.CancelRequested, true)
                        .SetProperty(j => j.FinishedAt, now), ct);
                if (changed == 1) db.JobEvents.Add(Event(id, now, JobEventTypes.Status, new { status = "cancelled" }));
            }
            else
            {
                changed = await db.TrainingJobs.Where(j => j.Id == id && j.Status == JobStatus.Running)
                    .ExecuteUpdateAsync(u => u.SetProperty(j => j.CancelRequested, true), ct);
                if (changed == 1 && !job.CancelRequested)
                    db.JobEvents.Add(Event(id, now, JobEventTypes.Log, new { message = "cancel requested" }));
            }
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            if (changed == 1 || attempt >= 5)
                return (await GetAsync(id, ct))!;
            // The job changed state between our read and our write (claimed or finished): look again.
        }
    }

    /// <summary>
    /// Claims the next job atomically: highest priority, then oldest; a running job whose lease expired counts as
    /// queued (its attempt count grows). Null when nothing is waiting. Two workers never get the same job.
    /// </summary>
    /// <remarks>
    /// Each claim gets a new <see cref="TrainingJobRecord.ClaimToken"/>. Taking over a running job whose lease expired
    /// counts a crash of its previous owner (none when that owner reported a checkpoint newer than its claim began with);
    /// a job backing off after a crash (<see cref="TrainingJobRecord.RetryAfter"/>) waits.
    /// </remarks>
    public async Task<TrainingJobRecord?> ClaimAsync(string workerId, TimeSpan lease, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var now = Now;
        var leaseUntil = now + lease;
        await using var tx = await db.Database.BeginTransactionAsync(ct);

        // A running job whose worker vanished after a cancel request is simply cancelled.
        var abandoned = await db.Database.SqlQuery<string>($"""
            UPDATE training_jobs SET status = 'cancelled', finished_at = {now}, claimed_by = NULL, lease_until = NULL
            WHERE status = 'running' AND cancel_requested AND lease_until < {now}
            RETURNING id AS "Value"
            """).ToListAsync(ct);
        foreach (var id in abandoned)
            db.JobEvents.Add(Event(id, now, JobEventTypes.Status, new { status = "cancelled" }));

        var claimed = await db.Database.SqlQueryRaw<string>(db.IsSqlite() ? ClaimSqlite : ClaimPostgres,
            Param(db, "p0", workerId), Param(db, "p1", leaseUntil), Param(db, "p2", now), Param(db, "p3", NewToken())).ToListAsync(ct);

        if (claimed.Count == 0)
        {
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            return null;
        }

        var job = await db.TrainingJobs.AsNoTracking().FirstAsync(j => j.Id == claimed[0], ct);
        db.JobEvents.Add(Event(job.Id, now, JobEventTypes.Status, new { status = "running", attempt = job.Attempts, workerId, crashes = job.Crashes }));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return job;
    }

    /// <summary>Running jobs whose claim starts with <paramref name="workerIdPrefix"/>, with the claiming worker's id.</summary>
    public async Task<IReadOnlyList<(string JobId, string WorkerId)>> RunningClaimsAsync(string workerIdPrefix, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var rows = await db.TrainingJobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Running && j.ClaimedBy != null && j.ClaimedBy.StartsWith(workerIdPrefix))
            .Select(j => new { j.Id, j.ClaimedBy }).ToListAsync(ct);
        return rows.Select(r => (r.Id, r.ClaimedBy!)).ToList();
    }

    /// <summary>
    /// Ends the lease of a job whose worker is known to be dead (e.g. its process is gone from this machine), so the
    /// next claim takes it at once instead of after the lease. False when that worker no longer holds it.
    /// </summary>
    public async Task<bool> ExpireLeaseAsync(string jobId, string deadWorkerId, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var past = Now.AddSeconds(-1);
        return await db.TrainingJobs.Where(j => j.Id == jobId && j.ClaimedBy == deadWorkerId && j.Status == JobStatus.Running)
            .ExecuteUpdateAsync(u => u.SetProperty(j => j.LeaseUntil, past), ct) == 1;
    }

    /// <summary>Renews the lease and reports whether the client asked to cancel; <see cref="LeaseLostException"/> when the claim is gone.</summary>
    public async Task<HeartbeatResult> HeartbeatAsync(string jobId, string claimToken, TimeSpan lease, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var now = Now;
        var until = now + lease;
        var changed = await Claimed(db, jobId, claimToken)
            .ExecuteUpdateAsync(u => u.SetProperty(j => j.LeaseUntil, until).SetProperty(j => j.HeartbeatAt, now), ct);
        if (changed == 0) throw new LeaseLostException(jobId, claimToken);
        var cancel = await db.TrainingJobs.Where(j => j.Id == jobId).Select(j => j.CancelRequested).FirstAsync(ct);
        return new HeartbeatResult(cancel);
    }

    /// <summary>
    /// Records the trainer's latest report (the one progress type from trainer to store) and the job's running time;
    /// false when the claim is gone. A report without a number (step reports carry no validation perplexity) keeps the last one.
    /// </summary>
    public async Task<bool> UpdateProgressAsync(string jobId, string claimToken, TrainingProgress p, double runSeconds, bool writeEvent = true, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var now = Now;
        var totalEpochs = p.StepsPerEpoch > 0 ? (int)((p.TotalSteps + p.StepsPerEpoch - 1) / p.StepsPerEpoch) : 0;   // a budget may end mid-epoch
        double? loss = p.Loss, lr = p.LearningRate, speed = p.TokensPerSecond;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var changed = await Claimed(db, jobId, claimToken)
            .ExecuteUpdateAsync(u => u
                .SetProperty(j => j.Epoch, p.Epoch)
                .SetProperty(j => j.TotalEpochs, totalEpochs)
                .SetProperty(j => j.Step, p.GlobalStep)
                .SetProperty(j => j.TotalSteps, p.TotalSteps)
                .SetProperty(j => j.TrainLoss, loss)
                .SetProperty(j => j.ValidPerplexity, j => p.ValidPerplexity ?? j.ValidPerplexity)
                .SetProperty(j => j.BestValidPerplexity, j => p.BestValidPerplexity ?? j.BestValidPerplexity)
                .SetProperty(j => j.TokensPerSecond, speed)
                .SetProperty(j => j.LearningRate, lr)
                .SetProperty(j => j.RunSeconds, runSeconds), ct);
        if (changed == 1 && writeEvent)
        {
            var valid = p.ValidPerplexity ?? await db.TrainingJobs.Where(j => j.Id == jobId).Select(j => j.ValidPerplexity).FirstAsync(ct);
            db.JobEvents.Add(Event(jobId, now, JobEventTypes.Progress, new
            {
                epoch = p.Epoch, totalEpochs, step = p.GlobalStep, totalSteps = p.TotalSteps, trainLoss = loss, validPerplexity = valid,
                bestValidPerplexity = p.BestValidPerplexity, tokensPerSecond = speed, learningRate = lr, runSeconds,
            }));
            await db.SaveChangesAsync(ct);
        }
        await tx.CommitAsync(ct);
        return changed == 1;
    }

    /// <summary>Notes where a resumed run starts (also written as a <c>resumed</c> event); false when the claim is gone.</summary>
    public async Task<bool> MarkResumedAsync(string jobId, string claimToken, int epoch, long step, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var from = $"epoch {epoch}, step {step}";
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var changed = await Claimed(db, jobId, claimToken).ExecuteUpdateAsync(u => u.SetProperty(j => j.ResumedFrom, from), ct);
        if (changed == 1)
        {
            db.JobEvents.Add(Event(jobId, Now, JobEventTypes.Resumed, new { epoch, step }));
            await db.SaveChangesAsync(ct);
        }
        await tx.CommitAsync(ct);
        return changed == 1;
    }

    /// <summary>Notes a checkpoint the claim wrote (its global step counts as progress for crash accounting); false when the claim is gone.</summary>
    public async Task<bool> MarkCheckpointAsync(string jobId, string claimToken, int epoch, long step, long globalStep, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var changed = await Claimed(db, jobId, claimToken)
            .ExecuteUpdateAsync(u => u.SetProperty(j => j.CheckpointStep, j => j.CheckpointStep > globalStep ? j.CheckpointStep : globalStep), ct);
        if (changed == 1)
        {
            db.JobEvents.Add(Event(jobId, Now, JobEventTypes.Checkpoint, new { epoch, step, globalStep }));
            await db.SaveChangesAsync(ct);
        }
        await tx.CommitAsync(ct);
        return changed == 1;
    }

    /// <summary>Appends an event; returns its cursor.</summary>
    public async Task<long> AppendEventAsync(string jobId, string type, object payload, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var e = Event(jobId, Now, type, payload);
        db.JobEvents.Add(e);
        await db.SaveChangesAsync(ct);
        return e.Id;
    }

    /// <summary>A job's events with a cursor greater than <paramref name="after"/>, oldest first.</summary>
    public async Task<IReadOnlyList<JobEventRecord>> EventsAfterAsync(string jobId, long after = 0, int limit = 500, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.JobEvents.AsNoTracking().Where(e => e.JobId == jobId && e.Id > after)
            .OrderBy(e => e.Id).Take(limit).ToListAsync(ct);
    }

    /// <summary>
    /// Finishes a job with its model version in one transaction guarded by the claim: the job becomes <c>succeeded</c>
    /// and the version row (number from <see cref="ModelVersionStore.ReserveVersionAsync"/>) is inserted, promoted if
    /// asked, or nothing happens and the answer is false (the claim is gone). The unique index on a version's job id
    /// makes a second version of one job impossible even then.
    /// </summary>
    public async Task<bool> CompleteSucceededAsync(string jobId, string claimToken, ModelVersionRecord version, bool promote, double? testPerplexity, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var now = Now;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var changed = await FinishCoreAsync(db, jobId, claimToken, JobStatus.Succeeded, null, version.Name, version.Version, testPerplexity, now, ct);
        if (changed == 0)
        {
            await tx.RollbackAsync(ct);
            return false;
        }
        version.JobId = jobId;
        db.ModelVersions.Add(version);
        await db.SaveChangesAsync(ct);
        if (promote) await ModelVersionStore.PromoteCoreAsync(db, version, now, ct);
        db.JobEvents.Add(Event(jobId, now, JobEventTypes.Status,
            new { status = "succeeded", model = $"{version.Name}@{version.Version}", modelName = version.Name, version = version.Version, testPerplexity }));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>Fails a job with a reason meant for clients (a message, never a stack or a server path).</summary>
    public Task<bool> CompleteFailedAsync(string jobId, string claimToken, string reason, CancellationToken ct = default) =>
        FinishAsync(jobId, claimToken, JobStatus.Failed, reason, new { status = "failed", reason }, ct);

    /// <summary>Marks a running job cancelled after its worker stopped it.</summary>
    public Task<bool> CompleteCancelledAsync(string jobId, string claimToken, CancellationToken ct = default) =>
        FinishAsync(jobId, claimToken, JobStatus.Cancelled, null, new { status = "cancelled" }, ct);

    /// <summary>
    /// Records that the claim's training process crashed (a cancel requested meanwhile cancels the job instead). Without a checkpoint newer than the claim began with, the
    /// job's crash count grows (else it starts again at 0); at <paramref name="maxCrashes"/> the job fails with
    /// <paramref name="reason"/>, otherwise it is queued again and not claimed before <c>now + backoff(crashes)</c>.
    /// Null when the claim is gone.
    /// </summary>
    public async Task<CrashOutcome?> RecordCrashAsync(string jobId, string claimToken, string reason, int maxCrashes, Func<int, TimeSpan> backoff, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var now = Now;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var job = await Claimed(db, jobId, claimToken).AsNoTracking().FirstOrDefaultAsync(ct);
        if (job is null) return null;
        var crashes = job.CheckpointStep > job.ClaimCheckpointStep ? 0 : job.Crashes + 1;
        CrashOutcome outcome;
        if (job.CancelRequested)
        {
            await FinishCoreAsync(db, jobId, claimToken, JobStatus.Cancelled, null, null, null, null, now, ct);
            db.JobEvents.Add(Event(jobId, now, JobEventTypes.Status, new { status = "cancelled" }));
            outcome = new CrashOutcome(false, crashes, null);
        }
        else if (crashes >= maxCrashes)
        {
            var text = $"{reason} It crashed {crashes} time(s) in a row without making progress; giving up.";
            await FinishCoreAsync(db, jobId, claimToken, JobStatus.Failed, text, null, null, null, now, ct);
            db.JobEvents.Add(Event(jobId, now, JobEventTypes.Status, new { status = "failed", reason = text, crashes }));
            outcome = new CrashOutcome(true, crashes, null);
        }
        else
        {
            var after = now + backoff(crashes);
            await Claimed(db, jobId, claimToken).ExecuteUpdateAsync(u => u
                .SetProperty(j => j.Status, JobStatus.Queued).SetProperty(j => j.ClaimedBy, (string?)null)
                .SetProperty(j => j.ClaimToken, (string?)null).SetProperty(j => j.LeaseUntil, (DateTime?)null)
                .SetProperty(j => j.Crashes, crashes).SetProperty(j => j.RetryAfter, after), ct);
            db.JobEvents.Add(Event(jobId, now, JobEventTypes.Status, new { status = "queued", reason, crashes, retryAfter = after }));
            outcome = new CrashOutcome(false, crashes, after);
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return outcome;
    }

    private async Task<bool> FinishAsync(string jobId, string claimToken, JobStatus status, string? reason, object payload, CancellationToken ct)
    {
        await using var db = dbFactory.CreateDbContext();
        var now = Now;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var changed = await FinishCoreAsync(db, jobId, claimToken, status, reason, null, null, null, now, ct);
        if (changed == 1)
        {
            db.JobEvents.Add(Event(jobId, now, JobEventTypes.Status, payload));
            await db.SaveChangesAsync(ct);
        }
        await tx.CommitAsync(ct);
        return changed == 1;
    }

    private static Task<int> FinishCoreAsync(RnnLmDbContext db, string jobId, string claimToken, JobStatus status, string? reason,
        string? modelName, int? version, double? testPpl, DateTime now, CancellationToken ct) =>
        Claimed(db, jobId, claimToken).ExecuteUpdateAsync(u => u
            .SetProperty(j => j.Status, status)
            .SetProperty(j => j.FinishedAt, now)
            .SetProperty(j => j.LeaseUntil, (DateTime?)null)
            .SetProperty(j => j.FailureReason, reason)
            .SetProperty(j => j.ProducedModelName, modelName)
            .SetProperty(j => j.ProducedModelVersion, version)
            .SetProperty(j => j.TestPerplexity, testPpl), ct);

    /// <summary>
    /// Gives a running job back on graceful shutdown: queued again (its checkpoint stays for the next worker; not a
    /// crash), or cancelled when a cancel was requested meanwhile. False when the claim is gone.
    /// </summary>
    public async Task<bool> ReleaseAsync(string jobId, string claimToken, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var now = Now;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var requeued = await Claimed(db, jobId, claimToken).Where(j => !j.CancelRequested)
            .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Queued)
                .SetProperty(j => j.ClaimedBy, (string?)null)
                .SetProperty(j => j.ClaimToken, (string?)null)
                .SetProperty(j => j.LeaseUntil, (DateTime?)null), ct);
        var cancelled = requeued == 1 ? 0 : await Claimed(db, jobId, claimToken).Where(j => j.CancelRequested)
            .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Cancelled)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.LeaseUntil, (DateTime?)null), ct);
        if (requeued == 1)
            db.JobEvents.Add(Event(jobId, now, JobEventTypes.Status, new { status = "queued", reason = "worker shut down; the job resumes from its checkpoint" }));
        else if (cancelled == 1)
            db.JobEvents.Add(Event(jobId, now, JobEventTypes.Status, new { status = "cancelled" }));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return requeued + cancelled == 1;
    }

    /// <summary>The job while <paramref name="claimToken"/> is its current claim and it runs.</summary>
    private static IQueryable<TrainingJobRecord> Claimed(RnnLmDbContext db, string jobId, string claimToken) =>
        db.TrainingJobs.Where(j => j.Id == jobId && j.ClaimToken == claimToken && j.Status == JobStatus.Running);

    private static string NewToken() => Guid.NewGuid().ToString("N");

    private const string ClaimSet = """
        UPDATE training_jobs
        SET crashes = CASE WHEN status = 'running' AND checkpoint_step <= claim_checkpoint_step THEN crashes + 1
                           WHEN status = 'running' THEN 0 ELSE crashes END,
            status = 'running', claimed_by = @p0, claim_token = @p3, lease_until = @p1, heartbeat_at = @p2,
            started_at = COALESCE(started_at, @p2), attempts = attempts + 1,
            claim_checkpoint_step = checkpoint_step, retry_after = NULL
        WHERE id = (SELECT id FROM training_jobs
                    WHERE (status = 'queued' OR (status = 'running' AND lease_until < @p2)) AND NOT cancel_requested
                      AND (retry_after IS NULL OR retry_after <= @p2)
                    ORDER BY priority DESC, created_at, id
                    LIMIT 1
        """;

    private const string ClaimWhere = """
          AND (status = 'queued' OR (status = 'running' AND lease_until < @p2))
        RETURNING id AS "Value"
        """;

    /// <summary>SQLite: one UPDATE is atomic under the single writer lock (the transaction is BEGIN IMMEDIATE).</summary>
    private const string ClaimSqlite = ClaimSet + ")\n" + ClaimWhere;

    /// <summary>PostgreSQL: concurrent claimers skip each other's locked rows instead of waiting or colliding.</summary>
    private const string ClaimPostgres = ClaimSet + " FOR UPDATE SKIP LOCKED)\n" + ClaimWhere;

    private static JobEventRecord Event(string jobId, DateTime time, string type, object payload) => new()
    {
        JobId = jobId,
        Time = time,
        Type = type,
        PayloadJson = JsonSerializer.Serialize(payload, payload.GetType(), Json),
    };

    private static System.Data.Common.DbParameter Param(RnnLmDbContext db, string name, object value)
    {
        var cmd = db.Database.GetDbConnection().CreateCommand();
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        return p;
    }
}
