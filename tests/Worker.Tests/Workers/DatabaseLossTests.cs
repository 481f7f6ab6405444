using System.Diagnostics;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>
/// A worker process whose PostgreSQL server goes away mid-job: it stays up, keeps the job's checkpoint on disk, and
/// when the server is back it records the job's success itself (same claim, no second attempt). The server is the
/// test's own cluster on its own port — never the shared <c>RNNLM_TEST_POSTGRES</c> one — so stopping it hurts nobody.
/// Runs when <c>RNNLM_TEST_POSTGRES</c> is set (the same rule as every PostgreSQL test) and the server binaries are here.
/// </summary>
public sealed class DatabaseLossTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PrivateCluster? _cluster;
    private TestStore? _store;
    private readonly WorkerProcesses _workers = new(output);

    public async Task InitializeAsync()
    {
        // Applies TestStore's rule (skip outside CI, fail in CI) before looking for a server of our own.
        await using (var probe = await TestStore.CreateAsync(StoreProviders.Postgres, output, migrate: false))
            if (probe is null) return;
        _cluster = await PrivateCluster.StartAsync(output);
        if (_cluster is null) return;
        _store = await TestStore.CreateAsync(StoreProviders.Postgres, output, postgresAdmin: _cluster.AdminConnection);
    }

    public async Task DisposeAsync()
    {
        _workers.Dispose();
        if (_store is not null && _cluster is not null)
        {
            await _cluster.StartAgainAsync(); // so the database can be dropped even after a failed test
            await _store.DisposeAsync();
        }
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task A_worker_that_loses_the_database_keeps_its_checkpoint_and_finishes_the_job_when_it_returns()
    {
        if (_store is null || _cluster is null) return; // noted in the output
        var clock = Stopwatch.StartNew();
        var text = string.Concat(Enumerable.Range(0, 600).Select(i => string.Join(' ', Enumerable.Range(i % 22, 24 - i % 22).Select(w => $"w{w:00}")) + "\n"));
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", text);
        var spec = JobSpecJson.Serialize(new TrainingSpec
        {
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word },
            Model = new ModelOptions { CellType = CellType.Gru, EmbeddingSize = 16, HiddenSize = 16, Layers = 1, Dropout = 0 },
            Training = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 0.02, Epochs = 3, BatchSize = 2, EvalBatchSize = 2, Bptt = 8, Clip = 1, Patience = 0, Seed = 3 },
        });
        var job = await _store.Jobs().EnqueueAsync(new NewTrainingJob("survivor", dataset.Id, spec));
        var worker = _workers.Start(_store, "w");

        // A checkpoint written mid-training (every second here), with training still to do.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        TrainingJobRecord current;
        while (!(current = (await _store.Jobs().GetAsync(job.Id))!).IsTerminal
               && !(await _store.Jobs().EventsAfterAsync(job.Id)).Any(e => e.Type == JobEventTypes.Checkpoint)
               && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(JobStatus.Running, current.Status);
        var checkpointDir = Path.Combine(_store.DataDirectory, "checkpoints", job.Id);

        await _cluster.StopAsync();
        Npgsql.NpgsqlConnection.ClearAllPools();
        output.WriteLine($"server stopped at {clock.Elapsed}");
        // The worker notices (its heartbeat fails) and says so; it does not exit, and the checkpoint stays.
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!_workers.Lines.Any(l => l.Contains("unreachable", StringComparison.Ordinal) || l.Contains("cannot reach", StringComparison.Ordinal))
               && DateTime.UtcNow < deadline && !worker.HasExited)
            await Task.Delay(100);
        Assert.Contains(_workers.Lines, l => l.Contains("unreachable", StringComparison.Ordinal) || l.Contains("cannot reach", StringComparison.Ordinal));
        await Task.Delay(TimeSpan.FromSeconds(2)); // a little longer without the store
        Assert.False(worker.HasExited, "the worker exited when the database went away");
        Assert.True(Directory.Exists(checkpointDir) && Directory.EnumerateFileSystemEntries(checkpointDir).Any(),
            $"the job's checkpoint directory {checkpointDir} is gone or empty while the store is down");

        await _cluster.StartAgainAsync();
        output.WriteLine($"server back at {clock.Elapsed}");
        deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        TrainingJobRecord? done = null;
        while (DateTime.UtcNow < deadline)
        {
            try { done = await _store.Jobs().GetAsync(job.Id); }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException) { done = null; }
            if (done?.IsTerminal == true) break;
            await Task.Delay(100);
        }
        output.WriteLine($"job {done?.Status} at {clock.Elapsed}: {done?.FailureReason}");
        Assert.NotNull(done);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(1, done.Attempts); // the same worker kept its claim throughout
        Assert.Contains($"/{worker.Id}/", done.ClaimedBy);
        Assert.Equal(1, (await _store.Versions().GetAsync("survivor"))!.Version);
        Assert.False(worker.HasExited);
    }

    /// <summary>A PostgreSQL cluster of this test's own in a temporary directory (run as <c>postgres</c> when we are root).</summary>
    private sealed class PrivateCluster : IAsyncDisposable
    {
        private readonly string _bin;
        private readonly string _dir;
        private readonly int _port;
        private readonly ITestOutputHelper _output;
        private bool _running;

        private PrivateCluster(string bin, string dir, int port, ITestOutputHelper output) => (_bin, _dir, _port, _output) = (bin, dir, port, output);

        public string AdminConnection => $"Host=127.0.0.1;Port={_port};Username=postgres;Database=postgres;Timeout=3";

        private static bool IsRoot => Environment.UserName == "root";

        public static async Task<PrivateCluster?> StartAsync(ITestOutputHelper output)
        {
            var bin = Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl"))).OrderDescending().FirstOrDefault()
                : null;
            if (bin is null)
            {
                if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
                    throw new InvalidOperationException("The PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are missing: this test starts and stops a server of its own.");
                output.WriteLine("SKIPPED: no PostgreSQL server binaries under /usr/lib/postgresql to start a private cluster with.");
                return null;
            }
            var dir = Path.Combine(Path.GetTempPath(), $"rnnlm-pg-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            var cluster = new PrivateCluster(bin, dir, WorkerProcesses.FreePort(), output);
            if (IsRoot) await cluster.RunAsync("chown", "postgres", dir);
            await cluster.PgAsync("initdb", "-D", Path.Combine(dir, "db"), "-A", "trust", "-U", "postgres");
            await cluster.StartAgainAsync();
            return cluster;
        }

        public async Task StartAgainAsync()
        {
            if (_running) return;
            await PgAsync("pg_ctl", "-D", Path.Combine(_dir, "db"), "-o", $"-p {_port} -k {_dir} -c listen_addresses=127.0.0.1", "-l", Path.Combine(_dir, "log"), "-w", "start");
            _running = true;
        }

        public async Task StopAsync()
        {
            await PgAsync("pg_ctl", "-D", Path.Combine(_dir, "db"), "-m", "fast", "-w", "stop");
            _running = false;
        }

        private Task PgAsync(string tool, params string[] args) =>
            IsRoot ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args]) : RunAsync(Path.Combine(_bin, tool), args);

        private async Task RunAsync(string file, params string[] args)
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var p = Process.Start(info)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.WaitForExitAsync(timeout.Token);
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {await stdout} {await stderr}");
        }

        public async ValueTask DisposeAsync()
        {
            try { if (_running) await StopAsync(); }
            catch (InvalidOperationException e) { _output.WriteLine(e.Message); }
            try { Directory.Delete(_dir, recursive: true); }
            catch (IOException) { }
        }
    }
}
