using System.Diagnostics;
using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>
/// The standalone worker as a real process (<c>dotnet RnnLmService.Worker.dll</c>): killed with SIGKILL mid-training,
/// its job is taken up by the next worker process on the same machine at once (the claim's process is gone; no
/// waiting out the lease) and resumes from the last checkpoint.
/// Runs on PostgreSQL when <c>RNNLM_TEST_POSTGRES</c> is set, else on the SQLite file both processes share.
/// </summary>
public sealed class WorkerProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestStore _store = null!;
    private readonly List<Process> _processes = [];

    public async Task InitializeAsync()
    {
        var pg = Environment.GetEnvironmentVariable(TestStore.PostgresVariable);
        _store = (await TestStore.CreateAsync(string.IsNullOrWhiteSpace(pg) || pg == "skip" ? StoreProviders.Sqlite : StoreProviders.Postgres, output))!;
        output.WriteLine($"store: {_store.Provider}");
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.Dispose();
        }
        await _store.DisposeAsync();
    }

    /// <summary>The worker's build output next to this test's (same configuration).</summary>
    private static string WorkerDll()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = dir.Parent!.Name; // .../bin/{Configuration}/net10.0/
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RnnLmService.sln"))) dir = dir.Parent;
        var dll = Path.Combine(dir!.FullName, "src", "Worker", "bin", configuration, "net10.0", "RnnLmService.Worker.dll");
        Assert.True(File.Exists(dll), $"the worker build output {dll} is missing");
        return dll;
    }

    private Process StartWorker(string name)
    {
        var info = new ProcessStartInfo("dotnet", [WorkerDll()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var env = info.Environment;
        env["RnnLm__DataDirectory"] = _store.DataDirectory;
        env["RnnLm__Store__Provider"] = _store.Provider;
        if (_store.Options.Store.ConnectionString is { } cs) env["RnnLm__Store__ConnectionString"] = cs;
        env["RnnLm__Worker__PollInterval"] = "00:00:00.100";
        env["RnnLm__Worker__HeartbeatInterval"] = "00:00:00.250";
        // A long lease: the restarted worker must see that the killed process is gone, not wait the lease out.
        env["RnnLm__Worker__LeaseDuration"] = "00:10:00";
        env["RnnLm__Worker__CheckpointInterval"] = "00:00:01";
        env["RnnLm__Worker__TorchThreads"] = "1";
        env["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) output.WriteLine($"[{name}] {e.Data}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.WriteLine($"[{name}!] {e.Data}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    private async Task<TrainingJobRecord> WaitAsync(string id, Func<TrainingJobRecord, IReadOnlyList<JobEventRecord>, bool> until)
    {
        var jobs = _store.Jobs();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (DateTime.UtcNow < deadline)
        {
            var job = (await jobs.GetAsync(id))!;
            if (until(job, await jobs.EventsAfterAsync(id))) return job;
            await Task.Delay(50);
        }
        throw new TimeoutException($"job {id} did not reach the expected state");
    }

    [Fact]
    public async Task A_worker_process_killed_mid_training_is_resumed_from_its_checkpoint_by_another_process()
    {
        var text = string.Concat(Enumerable.Range(0, 600).Select(i => string.Join(' ', Enumerable.Range(i % 22, 24 - i % 22).Select(w => $"w{w:00}")) + "\n"));
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", text);
        var spec = JobSpecJson.Serialize(new TrainingSpec
        {
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word },
            Model = new ModelOptions { CellType = CellType.Gru, EmbeddingSize = 16, HiddenSize = 16, Layers = 1, Dropout = 0 },
            Training = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 0.02, Epochs = 2, BatchSize = 2, EvalBatchSize = 2, Bptt = 8, Clip = 1, Patience = 0, Seed = 3 },
        });
        var job = await _store.Jobs().EnqueueAsync(new NewTrainingJob("killed", dataset.Id, spec));

        var first = StartWorker("w1");
        // Wait for a checkpoint written mid-training (every second here), then kill without warning.
        await WaitAsync(job.Id, (j, events) => j.IsTerminal || events.Any(e => e.Type == JobEventTypes.Checkpoint));
        first.Kill(); // SIGKILL: no shutdown checkpoint, no release
        await first.WaitForExitAsync();
        var orphan = (await _store.Jobs().GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Running, orphan.Status);
        Assert.Equal(1, orphan.Attempts);

        StartWorker("w2");
        var done = await WaitAsync(job.Id, (j, _) => j.IsTerminal);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(2, done.Attempts);
        var resumed = Assert.Single(await _store.Jobs().EventsAfterAsync(job.Id), e => e.Type == JobEventTypes.Resumed);
        output.WriteLine($"resumed: {resumed.PayloadJson}");
        var at = JsonDocument.Parse(resumed.PayloadJson).RootElement;
        Assert.True(at.GetProperty("epoch").GetInt32() > 1 || at.GetProperty("step").GetInt64() > 0);
        Assert.Equal(1, (await _store.Versions().GetAsync("killed"))!.Version);
        Assert.True(done.TestPerplexity > 1);
    }
}
