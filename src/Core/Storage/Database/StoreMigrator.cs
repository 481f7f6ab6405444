using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Core.Storage.Database;

/// <summary>Creates or migrates the store's schema at start.</summary>
public static class StoreMigrator
{
    /// <summary>
    /// Applies the provider's pending migrations. Several processes starting at once are safe: SQLite's writer lock
    /// and EF Core's migration lock serialise them, on PostgreSQL with a session advisory lock around the whole run. An unreachable database fails with one sentence that names
    /// the setting and the host or file.
    /// </summary>
    public static async Task MigrateStoreAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var factory = services.GetRequiredService<StoreDbContextFactory>();
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RnnLmOptions>>().Value;
        await MigrateAsync(factory, options, cancellationToken);
    }

    public static async Task MigrateAsync(StoreDbContextFactory factory, RnnLmOptions options, CancellationToken cancellationToken = default)
    {
        try
        {
            Directory.CreateDirectory(options.DataPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreUnavailableException($"Cannot create the data directory {options.DataPath} (RnnLm:DataDirectory): {e.Message}", e);
        }

        try
        {
            await using var db = factory.CreateDbContext();
            var locked = await LockPostgresAsync(db, cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
            if (locked) await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({MigrationLockKey})", cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or SqliteException or SocketException or TimeoutException
                                      || e.InnerException is NpgsqlException or SocketException or TimeoutException)
        {
            var reason = (e is NpgsqlException { InnerException: { } inner } ? inner.Message : e.Message).TrimEnd('.');
            var verb = factory.Provider == StoreProviders.Postgres ? "reach" : "open";
            throw new StoreUnavailableException($"Cannot {verb} {factory.Target}: {reason}.", e);
        }
        RemoveAbandonedUploads(options.DataPath);
    }

    private const long MigrationLockKey = 72_630_011;

    /// <summary>
    /// PostgreSQL: a session advisory lock around the whole migration run. EF Core's own lock lasts one migration's
    /// transaction, so with several pending migrations two processes starting together could both apply the next
    /// one. False when the database does not exist yet (EF creates it; the first process to do so wins).
    /// </summary>
    private static async Task<bool> LockPostgresAsync(RnnLmDbContext db, CancellationToken ct)
    {
        if (db.Provider != StoreProviders.Postgres) return false;
        try
        {
            await db.Database.OpenConnectionAsync(ct);
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({MigrationLockKey})", ct);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            await db.Database.CloseConnectionAsync();
            return false;
        }
    }

    /// <summary>Uploads and deletions a crash interrupted (<c>datasets/.upload-*</c>, <c>.deleted-*</c>) older than an hour.</summary>
    private static void RemoveAbandonedUploads(string dataPath)
    {
        var root = Path.Combine(dataPath, "datasets");
        if (!Directory.Exists(root)) return;
        foreach (var dir in Directory.EnumerateDirectories(root, ".*"))
        {
            var name = Path.GetFileName(dir);
            if (!name.StartsWith(".upload-", StringComparison.Ordinal) && !name.StartsWith(".deleted-", StringComparison.Ordinal)) continue;
            try
            {
                if (Directory.GetLastWriteTimeUtc(dir) < DateTime.UtcNow.AddHours(-1)) Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: another process may be removing it too.
            }
        }
    }
}
