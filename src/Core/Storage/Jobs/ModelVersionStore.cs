using Microsoft.EntityFrameworkCore;
using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Core.Storage.Jobs;

/// <summary>
/// Model versions in the store: numbers allocated per name in a transaction (the unique (name, version) index
/// settles races between processes), which version a bare name resolves to, and the default model.
/// </summary>
public sealed class ModelVersionStore(IDbContextFactory<RnnLmDbContext> dbFactory, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>
    /// Registers the next version of <paramref name="name"/>. <paramref name="placeArtifact"/> receives the
    /// allocated number while the row is held (not yet committed) and must move the artifact into place,
    /// returning its path relative to the data directory; if it throws, nothing is registered.
    /// </summary>
    public async Task<ModelVersionRecord> RegisterAsync(string name, string metricsJson, string? jobId, bool promote,
        Func<int, string> placeArtifact, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var db = dbFactory.CreateDbContext();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var next = (await db.ModelVersions.Where(v => v.Name == name).MaxAsync(v => (int?)v.Version, ct) ?? 0) + 1;
            var record = new ModelVersionRecord
            {
                Name = name,
                Version = next,
                ArtifactPath = "",
                MetricsJson = metricsJson,
                CreatedAt = _clock.GetUtcNow().UtcDateTime,
                JobId = jobId,
            };
            db.ModelVersions.Add(record);
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (DbErrors.IsUniqueViolation(e) && attempt < 20)
            {
                // Another process took this number first: roll back and count again.
                await tx.RollbackAsync(CancellationToken.None);
                await Task.Delay(Random.Shared.Next(5, 30) * attempt, ct);
                continue;
            }

            record.ArtifactPath = placeArtifact(next);
            await db.SaveChangesAsync(ct);
            if (promote) await PromoteCoreAsync(db, record, ct);
            await tx.CommitAsync(ct);
            return record;
        }
    }

    // ---- Imported versions (POST /api/models/import) ------------------------------------------------------------------

    /// <summary>
    /// Registers an imported archive as the next version of <paramref name="name"/>, numbered like a trained version
    /// (no job). <paramref name="placeArtifact"/> moves the checked, staged directory into place as in <see cref="RegisterAsync"/>.
    /// </summary>
    public Task<ModelVersionRecord> RegisterImportedAsync(string name, string metricsJson, bool promote,
        Func<int, string> placeArtifact, CancellationToken ct = default) =>
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
        await PromoteCoreAsync(db, record, ct);
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
        await UpsertSettingAsync(db, SettingRecord.Keys.DefaultModel, model, ct);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Removes a version's record (the caller deletes its directory); false when there was none.</summary>
    public async Task<bool> DeleteAsync(string name, int version, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.ModelVersions.Where(v => v.Name == name && v.Version == version).ExecuteDeleteAsync(ct) == 1;
    }

    private async Task PromoteCoreAsync(RnnLmDbContext db, ModelVersionRecord record, CancellationToken ct)
    {
        await db.ModelVersions.Where(v => v.Name == record.Name && v.Id != record.Id && v.Promoted)
            .ExecuteUpdateAsync(u => u.SetProperty(v => v.Promoted, false), ct);
        record.Promoted = true;
        await UpsertSettingAsync(db, SettingRecord.Keys.DefaultModel, record.Name, ct);
        await db.SaveChangesAsync(ct);
    }

    private async Task UpsertSettingAsync(RnnLmDbContext db, string key, string value, CancellationToken ct)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        var changed = await db.Settings.Where(s => s.Key == key)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.Value, value).SetProperty(s => s.UpdatedAt, now), ct);
        if (changed == 0) db.Settings.Add(new SettingRecord { Key = key, Value = value, UpdatedAt = now });
    }
}
