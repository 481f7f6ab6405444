using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Core.Storage.Database;

/// <summary>Provider names of <c>RnnLm:Store:Provider</c>.</summary>
public static class StoreProviders
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
}

/// <summary>
/// Creates the provider's context from <see cref="RnnLmOptions.Store"/>: SQLite (WAL, busy timeout) in the data
/// directory by default, PostgreSQL when configured. Thread-safe; each call gives a new short-lived context.
/// </summary>
public sealed class StoreDbContextFactory : IDbContextFactory<RnnLmDbContext>
{
    /// <summary>How long a SQLite statement waits for another writer before it fails, in milliseconds.</summary>
    public const int SqliteBusyTimeoutMs = 5000;

    private readonly DbContextOptions<SqliteRnnLmDbContext>? _sqlite;
    private readonly DbContextOptions<PostgresRnnLmDbContext>? _postgres;

    public StoreDbContextFactory(RnnLmOptions options, ILoggerFactory? loggerFactory = null)
    {
        Provider = (options.Store.Provider ?? StoreProviders.Sqlite).Trim().ToLowerInvariant();
        loggerFactory ??= NullLoggerFactory.Instance;
        switch (Provider)
        {
            case StoreProviders.Sqlite:
                var csb = new SqliteConnectionStringBuilder(string.IsNullOrWhiteSpace(options.Store.ConnectionString)
                    ? $"Data Source={Path.Combine(options.DataPath, "rnnlm.db")}"
                    : options.Store.ConnectionString);
                if (string.IsNullOrEmpty(csb.DataSource))
                    throw new InvalidSettingException("RnnLm:Store:ConnectionString", "The SQLite connection string names no Data Source.");
                // Microsoft.Data.Sqlite retries a busy statement until Default Timeout (seconds, default 30) runs out;
                // the PRAGMA busy_timeout below makes SQLite itself wait for a writer first.
                ConnectionString = csb.ToString();
                Target = $"the SQLite file {Path.GetFullPath(csb.DataSource)} (RnnLm:DataDirectory / RnnLm:Store:ConnectionString)";
                _sqlite = new DbContextOptionsBuilder<SqliteRnnLmDbContext>()
                    .UseSqlite(ConnectionString)
                    .AddInterceptors(new SqlitePragmas())
                    .UseLoggerFactory(loggerFactory)
                    .Options;
                break;
            case StoreProviders.Postgres:
                if (string.IsNullOrWhiteSpace(options.Store.ConnectionString))
                    throw new InvalidSettingException("RnnLm:Store:ConnectionString",
                        "RnnLm:Store:ConnectionString is required when RnnLm:Store:Provider is 'postgres'.");
                NpgsqlConnectionStringBuilder pcsb;
                try { pcsb = new NpgsqlConnectionStringBuilder(options.Store.ConnectionString); }
                catch (ArgumentException e)
                {
                    throw new InvalidSettingException("RnnLm:Store:ConnectionString", $"RnnLm:Store:ConnectionString is not a valid PostgreSQL connection string: {e.Message}");
                }
                ConnectionString = pcsb.ToString();
                Target = $"the PostgreSQL server {pcsb.Host}:{(pcsb.Port == 0 ? 5432 : pcsb.Port)}, database '{pcsb.Database}' (RnnLm:Store:ConnectionString)";
                _postgres = new DbContextOptionsBuilder<PostgresRnnLmDbContext>()
                    .UseNpgsql(ConnectionString)
                    .UseLoggerFactory(loggerFactory)
                    .Options;
                break;
            default:
                throw new InvalidSettingException("RnnLm:Store:Provider", $"RnnLm:Store:Provider must be 'sqlite' or 'postgres', not '{options.Store.Provider}'.");
        }
    }

    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    public string Provider { get; }

    /// <summary>The effective connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>Where the store is and which setting names it, for error messages.</summary>
    public string Target { get; }

    public RnnLmDbContext CreateDbContext() => _sqlite is not null
        ? new SqliteRnnLmDbContext(_sqlite)
        : new PostgresRnnLmDbContext(_postgres!);

    /// <summary>Every SQLite connection: WAL journal (readers never block the writer) and a busy timeout.</summary>
    private sealed class SqlitePragmas : DbConnectionInterceptor
    {
        private static readonly string Sql = $"PRAGMA busy_timeout={SqliteBusyTimeoutMs}; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = Sql;
            cmd.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = Sql;
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}

/// <summary>For <c>dotnet ef migrations add ... --context SqliteRnnLmDbContext</c>.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteRnnLmDbContext>
{
    public SqliteRnnLmDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteRnnLmDbContext>().UseSqlite("Data Source=design.db").Options);
}

/// <summary>For <c>dotnet ef migrations add ... --context PostgresRnnLmDbContext</c> (no server needed to add a migration).</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresRnnLmDbContext>
{
    public PostgresRnnLmDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresRnnLmDbContext>().UseNpgsql("Host=localhost;Database=rnnlm").Options);
}
