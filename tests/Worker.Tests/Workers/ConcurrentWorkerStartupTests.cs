using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using RnnLmService.Core.Storage.Database;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>
/// Two real worker processes started at the same moment on an empty store: both migrate at start, both come up
/// ready, and the schema is there once (each migration recorded once, none missing).
/// </summary>
public abstract class ConcurrentWorkerStartupTests(string provider, ITestOutputHelper output) : IAsyncLifetime
{
    private TestStore? _store;
    private readonly WorkerProcesses _workers = new(output);

    public async Task InitializeAsync() => _store = await TestStore.CreateAsync(provider, output, migrate: false);

    public async Task DisposeAsync()
    {
        _workers.Dispose();
        if (_store is not null) await _store.DisposeAsync();
    }

    [Fact]
    public async Task Two_worker_processes_starting_at_once_on_an_empty_store_both_come_up_and_migrate_it_once()
    {
        if (_store is null) return; // PostgreSQL not configured outside CI (noted by TestStore)
        var clock = Stopwatch.StartNew();
        var ports = new[] { WorkerProcesses.FreePort(), WorkerProcesses.FreePort() };
        var processes = ports.Select((port, i) => _workers.Start(_store, $"w{i + 1}", port)).ToArray();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var ready = new bool[2];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!ready.All(r => r) && DateTime.UtcNow < deadline && !processes.Any(p => p.HasExited))
        {
            for (var i = 0; i < 2; i++)
            {
                if (ready[i]) continue;
                try { ready[i] = (await http.GetAsync($"http://127.0.0.1:{ports[i]}/health/ready")).IsSuccessStatusCode; }
                catch (HttpRequestException) { } // not listening yet
            }
            await Task.Delay(100);
        }
        output.WriteLine($"ready: {string.Join(", ", ready)} after {clock.Elapsed}");
        Assert.All(processes, p => Assert.False(p.HasExited, $"a worker exited at start (code {(p.HasExited ? p.ExitCode : 0)})"));
        Assert.Equal([true, true], ready);

        await using var db = _store.NewFactory().CreateDbContext();
        var known = db.Database.GetMigrations().ToList();
        var applied = (await db.Database.GetAppliedMigrationsAsync()).ToList();
        Assert.NotEmpty(known);
        Assert.Equal(known, applied); // every migration once, in order, nothing extra
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(0, await db.TrainingJobs.CountAsync()); // the schema answers queries
    }
}

public sealed class SqliteConcurrentWorkerStartupTests(ITestOutputHelper output) : ConcurrentWorkerStartupTests(StoreProviders.Sqlite, output);

public sealed class PostgresConcurrentWorkerStartupTests(ITestOutputHelper output) : ConcurrentWorkerStartupTests(StoreProviders.Postgres, output);
