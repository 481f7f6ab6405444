using Npgsql;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests;

/// <summary>
/// A real store for one test class: a SQLite file in a temporary data directory, or a fresh PostgreSQL database
/// on the server named by <c>RNNLM_TEST_POSTGRES</c> (dropped afterwards).
/// </summary>
public sealed class TestStore : IAsyncDisposable
{
    public const string PostgresVariable = "RNNLM_TEST_POSTGRES";

    private readonly string? _adminConnection;
    private readonly string? _database;

    private TestStore(string provider, RnnLmOptions options, string? adminConnection, string? database)
    {
        Provider = provider;
        Options = options;
        _adminConnection = adminConnection;
        _database = database;
        Factory = new StoreDbContextFactory(options);
    }

    public string Provider { get; }
    public RnnLmOptions Options { get; }
    public StoreDbContextFactory Factory { get; }
    public string DataDirectory => Options.DataPath;

    public JobStore Jobs(TimeProvider? clock = null) => new(Factory, clock);
    public ModelVersionStore Versions() => new(Factory);
    public DatasetStore Datasets(long? maxUpload = null)
    {
        if (maxUpload is { } m) Options.Serving.MaxUploadBytes = m;
        return new DatasetStore(Factory, Options, Jobs());
    }

    /// <summary>A second factory on the same store, as another process would have.</summary>
    public StoreDbContextFactory NewFactory() => new(Options);

    /// <summary>
    /// Null (with a note in the test output) when PostgreSQL was asked for but <c>RNNLM_TEST_POSTGRES</c> is unset
    /// outside CI; in CI (<c>CI=true</c>) a missing server is a failure, never a silent pass.
    /// <c>postgresAdmin</c>: a server of the test's own instead of <c>RNNLM_TEST_POSTGRES</c>'s.
    /// </summary>
    public static async Task<TestStore?> CreateAsync(string provider, ITestOutputHelper output, string? dataDirectory = null, bool migrate = true,
        string? postgresAdmin = null)
    {
        var options = new RnnLmOptions
        {
            DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "rnnlm-tests", Guid.NewGuid().ToString("N")),
        };
        options.Store.Provider = provider;
        Directory.CreateDirectory(options.DataPath);
        if (provider == StoreProviders.Sqlite)
        {
            var sqlite = new TestStore(provider, options, null, null);
            if (migrate) await StoreMigrator.MigrateAsync(sqlite.Factory, options);
            return sqlite;
        }

        var admin = postgresAdmin ?? Environment.GetEnvironmentVariable(PostgresVariable);
        if (string.IsNullOrWhiteSpace(admin) || admin == "skip")
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) && admin != "skip")
                throw new InvalidOperationException($"{PostgresVariable} is not set: the PostgreSQL store tests need a server in CI.");
            output.WriteLine($"SKIPPED (PostgreSQL): set {PostgresVariable} to a connection string to run this test against PostgreSQL.");
            return null;
        }

        var database = $"rnnlm_test_{Guid.NewGuid():N}"[..40];
        var csb = new NpgsqlConnectionStringBuilder(admin) { Database = database, Pooling = true };
        options.Store.ConnectionString = csb.ToString();
        var store = new TestStore(provider, options, admin, database);
        if (migrate) await StoreMigrator.MigrateAsync(store.Factory, options); // creates the database
        else
        {
            // An empty database, as a first start finds it.
            await using var conn = new NpgsqlConnection(admin);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        return store;
    }

    public async ValueTask DisposeAsync()
    {
        if (_adminConnection is not null && _database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var conn = new NpgsqlConnection(_adminConnection);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        try { Directory.Delete(Options.DataPath, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A clock the test moves by hand (lease expiry without sleeping).</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = DateTimeOffset.UtcNow;
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}
