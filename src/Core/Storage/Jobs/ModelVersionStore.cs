using Microsoft.EntityFrameworkCore;
using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Core.Storage.Jobs;

/// <summary>
/// Model versions in the store: numbers handed out per name by a counter that never goes back, which version a bare
/// name resolves to, and the default model. A version row is written only with its job's success
/// (<see cref="JobStore.CompleteSucceededAsync"/>).
/// </summary>
public sealed class ModelVersionStore(IDbContextFactory<RnnLmDbContext> dbFactory, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>
    /// Hands out the next version number of <paramref name="name"/> from its counter (one atomic upsert): numbers are
    /// never reused, even after a delete, and a number reserved by a job that then loses its claim stays a gap.
    /// A name without a counter (versions from before the counter existed) starts after its highest version.
    /// </summary>
    public async Task<int> ReserveVersionAsync(string name, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var p = db.Database.GetDbConnection().CreateCommand().CreateParameter();
        p.ParameterName = "p0";
        p.Value = name;
        var next = await db.Database.SqlQueryRaw<int>("""
            INSERT INTO model_name_counters (name, last_version)
            VALUES (@p0, COALESCE((SELECT MAX(version) FROM model_versions WHERE name = @p0), 0) + 1)
            ON CONFLICT (name) DO UPDATE SET last_version = model_name_counters.last_version + 1
            RETURNING last_version AS "Value"
            """, p).ToListAsync(ct);
        return next[0];
    }

    /// <summary>
    /// Registers a version made outside a job (an import, a test fixture): reserves the next number, lets
    /// <paramref name="placeArtifact"/> write the artifact (outside any transaction: SQLite's write lock is never held
    /// while files are written) and return its path relative to the data directory, then records it. Jobs finish
    /// through <see cref="JobStore.CompleteSucceededAsync"/> instead.
    /// </summary>
    public Task<ModelVersionRecord> RegisterAsync(string name, string metricsJson, string? jobId, bool promote,
        Func<int, string> placeArtifact, CancellationToken ct = default) =>
        RegisterAsync(name, metricsJson, jobId, promote, v => Task.FromResult(placeArtifact(v)), ct);

    /// <summary><see cref="RegisterAsync(string, string, string?, bool, Func{int, string}, CancellationToken)"/> with an artifact placed asynchronously (an upload).</summary>
    public async Task<ModelVersionRecord> RegisterAsync(string name, string metricsJson, string? jobId, bool promote,
        Func<int, Task<string>> placeArtifact, CancellationToken ct = default)
    {
        var version = await ReserveVersionAsync(name, ct);
        var path = await placeArtifact(version);
        await using var db = dbFactory.CreateDbContext();
        var now = _clock.GetUtcNow().UtcDateTime;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var record = new ModelVersionRecord { Name = name, Version = version, ArtifactPath = path, MetricsJson = metricsJson, CreatedAt = now, JobId = jobId };
        db.ModelVersions.Add(record);
        await db.SaveChangesAsync(ct);
        if (promote) await PromoteCoreAsync(db, record, now, ct);
        await tx.CommitAsync(ct);
        return record;
    }

    /// <summary>The version a job produced, if any (at most one: the job id is unique among versions).</summary>
    public async Task<ModelVersionRecord?> GetByJobAsync(string jobId, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.ModelVersions.AsNoTracking().FirstOrDefaultAsync(v => v.JobId == jobId, ct);
    }

    // ---- Imported versions (POST /api/models/import) ------------------------------------------------------------------

    /// <summary>
    /// Registers an imported archive as the next version of <paramref name="name"/>, numbered like a trained version
    /// (no job). <paramref name="placeArtifact"/> moves the checked, staged directory into place as in <see cref="RegisterAsync(string, string, string?, bool, Func{int, Task{string}}, CancellationToken)"/>.
    /// </summary>
    public Task<ModelVersionRecord> RegisterImportedAsync(string name, string metricsJson, bool promote,
        Func<int, Task<string>> placeArtifact, CancellationToken ct = default) =>
        RegisterAsync(name, metricsJson, jobId: null, promote, placeArtifact, ct);

    // --------------------------------------------------------------------------------------------------------------------

    /// <summary>Versions, newest first, of one name or of all.</summary>
    public async Task<IReadOnlyList<ModelVersionRecord>> ListAsync(string? name = null, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var q = db.ModelVersions.AsNoTracking();
        if (name is not null) q = q.Where(v => v.Name == name);
        return await q.OrderBy(v => v.Name).ThenByDescending(v => v.Version).ToListAsync(ct);
    }

    /// <summary>One version, or (version null) the promoted one of the name, else its newest.</summary>
    public async Task<ModelVersionRecord?> GetAsync(string name, int? version = null, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var q = db.ModelVersions.AsNoTracking().Where(v => v.Name == name);
        if (version is { } v0) return await q.FirstOrDefaultAsync(v => v.Version == v0, ct);
        return await q.OrderByDescending(v => v.Promoted).ThenByDescending(v => v.Version).FirstOrDefaultAsync(ct);
    }

    /// <summary>Makes the version what its bare name resolves to and the service's default model.</summary>
    public async Task PromoteAsync(string name, int version, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var record = await db.ModelVersions.FirstOrDefaultAsync(v => v.Name == name && v.Version == version, ct)
                     ?? throw new NotFoundException("model version", $"{name}@{version}");
        await PromoteCoreAsync(db, record, _clock.GetUtcNow().UtcDateTime, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>The default model's name, if one was set.</summary>
    public async Task<string?> GetDefaultModelAsync(CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Settings.Where(s => s.Key == SettingRecord.Keys.DefaultModel).Select(s => s.Value).FirstOrDefaultAsync(ct);
    }

    /// <summary>Sets the default model's name (<c>name</c> or <c>name@version</c>).</summary>
    public async Task SetDefaultModelAsync(string model, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        await UpsertSettingAsync(db, SettingRecord.Keys.DefaultModel, model, _clock.GetUtcNow().UtcDateTime, ct);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Removes a version's record (the caller deletes its directory); false when there was none.</summary>
    public async Task<bool> DeleteAsync(string name, int version, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.ModelVersions.Where(v => v.Name == name && v.Version == version).ExecuteDeleteAsync(ct) == 1;
    }

    /// <summary>Inside the caller's transaction: the version becomes what its name resolves to and the default model.</summary>
    internal static async Task PromoteCoreAsync(RnnLmDbContext db, ModelVersionRecord record, DateTime now, CancellationToken ct)
    {
        await db.ModelVersions.Where(v => v.Name == record.Name && v.Id != record.Id && v.Promoted)
            .ExecuteUpdateAsync(u => u.SetProperty(v => v.Promoted, false), ct);
        record.Promoted = true;
        await UpsertSettingAsync(db, SettingRecord.Keys.DefaultModel, record.Name, now, ct);
        await db.SaveChangesAsync(ct);
    }

    private static async Task UpsertSettingAsync(RnnLmDbContext db, string key, string value, DateTime now, CancellationToken ct)
    {
        var changed = await db.Settings.Where(s => s.Key == key)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.Value, value).SetProperty(s => s.UpdatedAt, now), ct);
        if (changed == 0) db.Settings.Add(new SettingRecord { Key = key, Value = value, UpdatedAt = now });
    }
}
