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
    /// Applies the provider's pending migrations. EF Core takes its own migration lock on both providers, so
    /// several processes starting at once are safe. An unreachable database fails with one sentence that names
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
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await using var db = factory.CreateDbContext();
                    await db.Database.MigrateAsync(cancellationToken);
                    break;
                }
                catch (PostgresException e) when (attempt < 5 && e.SqlState is PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateObject or PostgresErrorCodes.UniqueViolation)
                {
                    // PostgreSQL's migration lock lasts one migration's transaction: with several pending migrations,
                    // another process starting at once may apply the next one first. Its work is then in the history;
                    // migrating again continues from there (measured: three starts at once with two migrations).
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
                }
            }
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
