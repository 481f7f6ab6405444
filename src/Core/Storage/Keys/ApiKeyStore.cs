using Microsoft.EntityFrameworkCore;
using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Core.Storage.Keys;

/// <summary>Keys an admin creates and revokes, stored as SHA-256 digests; the key itself exists only in the creation answer.</summary>
public sealed class ApiKeyStore(IDbContextFactory<RnnLmDbContext> dbFactory, TimeProvider clock)
{
    /// <summary>Creates a key of <paramref name="role"/>; returns its record and the key, which is not stored.</summary>
    public async Task<(ApiKeyRecord Record, string Key)> CreateAsync(string name, string role, CancellationToken ct = default)
    {
        InvalidSettingException.Check(!string.IsNullOrWhiteSpace(name) && name.Length <= ApiKeyRoles.MaxNameLength, "name",
            $"name is required and at most {ApiKeyRoles.MaxNameLength} characters.");
        InvalidSettingException.Check(ApiKeyRoles.IsValid(role), "role", $"role must be one of read, train, admin (was '{ModelsShorten(role)}').");
        var key = ApiKeySecrets.NewKey();
        var record = new ApiKeyRecord
        {
            Id = "key_" + Guid.NewGuid().ToString("N")[..16],
            Name = name.Trim(),
            Role = role,
            Sha256 = ApiKeySecrets.HashHex(key),
            Prefix = key[..(ApiKeySecrets.Prefix.Length + 4)],
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.ApiKeys.Add(record);
        await db.SaveChangesAsync(ct);
        return (record, key);
    }

    /// <summary>Every key, revoked ones included, newest first.</summary>
    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var keys = await db.ApiKeys.AsNoTracking().ToListAsync(ct);
        return keys.OrderByDescending(k => k.CreatedAt).ToList();
    }

    /// <summary>The key whose digest is <paramref name="sha256Hex"/>, revoked or not; null when there is none.</summary>
    public async Task<ApiKeyRecord?> FindByHashAsync(string sha256Hex, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Sha256 == sha256Hex, ct);
    }

    /// <summary>Whether any key is not revoked.</summary>
    public async Task<bool> AnyActiveAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ApiKeys.AnyAsync(k => k.RevokedAt == null, ct);
    }

    /// <summary>Revokes a key (idempotent); <see cref="NotFoundException"/> when there is no such key.</summary>
    public async Task<ApiKeyRecord> RevokeAsync(string id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var record = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, ct)
            ?? throw new NotFoundException($"There is no key '{ModelsShorten(id)}'. GET /api/keys lists the keys.", "id", "key_not_found");
        record.RevokedAt ??= clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(ct);
        return record;
    }

    private static string ModelsShorten(string? value) => Models.ModelNames.Shorten(value);
}
