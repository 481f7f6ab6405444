using System.Diagnostics;
using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using RnnLmService.Tests.Shared;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>Jobs as real training processes on a real SQLite store: kills, lost claims and crashes around publishing.</summary>
public sealed class TrainingProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Hang = TimeSpan.FromMinutes(3);
    private TestStore _store = null!;
    private readonly WorkerProcesses _processes = new(output);

    public async Task InitializeAsync()
    {
        _store = (await TestStore.CreateAsync(StoreProviders.Sqlite, output))!;
        var w = _store.Options.Worker;
        w.PollInterval = TimeSpan.FromMilliseconds(50);
        w.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        w.LeaseDuration = TimeSpan.FromSeconds(20);
        w.CheckpointInterval = TimeSpan.FromSeconds(1);
        w.CrashBackoff = TimeSpan.FromMilliseconds(200);
        w.TorchThreads = 1;
    }

    public async Task DisposeAsync()
    {
        _processes.Dispose();
        await _store.DisposeAsync();
    }

    private static string Spec(int epochs = 2, int batchSize = 2, long seed = 7) => JobSpecJson.Serialize(new TrainingSpec
    {
        Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word },
        Model = new ModelOptions { CellType = CellType.Gru, EmbeddingSize = 16, HiddenSize = 16, Layers = 1, Dropout = 0.2 }, // dropout: each process its own RNG
        Training = new TrainingOptions
        {
            Optimizer = OptimizerKind.Adam, LearningRate = 0.02, Epochs = epochs, BatchSize = batchSize, EvalBatchSize = 2,
            Bptt = 8, Clip = 1.0, Patience = 0, Seed = seed,
        },
    });

    private async Task<TrainingJobRecord> WaitAsync(string jobId, Func<TrainingJobRecord, bool> until)
    {
        var deadline = DateTime.UtcNow + Hang;
        while (DateTime.UtcNow < deadline)
        {
            var job = (await _store.Jobs().GetAsync(jobId))!;
            if (until(job)) return job;
            await Task.Delay(25);
        }
        throw new TimeoutException($"job {jobId} did not reach the expected state");
    }

    private async Task<IReadOnlyList<JsonElement>> EventsAsync(string jobId, string type) =>
        (await _store.Jobs().EventsAfterAsync(jobId, 0, 5000)).Where(e => e.Type == type)
            .Select(e => JsonDocument.Parse(e.PayloadJson).RootElement.Clone()).ToList();

    private async Task<ModelManifest> ManifestAsync(string jobId)
    {
        var version = (await _store.Versions().GetByJobAsync(jobId))!;
        return ModelArtifacts.ReadManifest(Path.Combine(_store.DataDirectory, version.ArtifactPath));
    }

    [Fact]
    public async Task Jobs_at_concurrency_2_with_one_seed_match_and_one_SIGKILLed_mid_epoch_resumes_to_the_same_model()
    {
        _store.Options.Worker.Concurrency = 2;
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", CycleLanguage.Text(700, 5));
        var killed = await _store.Jobs().EnqueueAsync(new NewTrainingJob("killed", dataset.Id, Spec()));
        var calm = await _store.Jobs().EnqueueAsync(new NewTrainingJob("calm", dataset.Id, Spec()));
        var twin = await _store.Jobs().EnqueueAsync(new NewTrainingJob("twin", dataset.Id, Spec()));
        var worker = InProcessWorker.Create(_store, output);
        await worker.StartAsync(default);

        // A checkpoint in the middle of an epoch, then SIGKILL the job's training process (as the OOM killer would).
        var deadline = DateTime.UtcNow + Hang;
        while (!(await EventsAsync(killed.Id, JobEventTypes.Checkpoint)).Any(e => e.GetProperty("step").GetInt64() > 0) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        var started = (await EventsAsync(killed.Id, JobEventTypes.Process)).Last(e => e.GetProperty("event").GetString() == "started");
        Assert.Equal(1, started.GetProperty("torchThreads").GetInt32()); // the configured thread count, reported by the process itself
        var pid = started.GetProperty("pid").GetInt32();
        Assert.NotEqual(Environment.ProcessId, pid);
        using (var child = Process.GetProcessById(pid)) child.Kill();

        var first = await WaitAsync(killed.Id, j => j.IsTerminal);
        var second = await WaitAsync(calm.Id, j => j.IsTerminal);
        var third = await WaitAsync(twin.Id, j => j.IsTerminal);
        await worker.StopAsync(default);

        Assert.Equal((JobStatus.Succeeded, JobStatus.Succeeded, JobStatus.Succeeded), (first.Status, second.Status, third.Status));
        Assert.Equal(2, first.Attempts);
        Assert.NotNull(first.ResumedFrom);
        var queued = (await EventsAsync(killed.Id, JobEventTypes.Status)).Single(e => e.GetProperty("status").GetString() == "queued" && e.TryGetProperty("crashes", out _));
        Assert.Contains("signal 9", queued.GetProperty("reason").GetString());
        var (a, b, c) = (await ManifestAsync(killed.Id), await ManifestAsync(calm.Id), await ManifestAsync(twin.Id));
        output.WriteLine($"killed: {a.WeightsSha256} test ppl {a.Metrics?.TestPerplexity}; calm: {b.WeightsSha256} test ppl {b.Metrics?.TestPerplexity}; twin: {c.WeightsSha256}");
        // Two uninterrupted jobs of one seed, each in its own process with its own RNG: the same weights to the bit.
        Assert.Equal(b.WeightsSha256, c.WeightsSha256);
        // The resumed one: the same run up to float rounding of the reloaded state (Core's ResumeTests compare weights to 1e-4).
        Assert.Equal(b.Metrics!.ValidPerplexityHistory.Count, a.Metrics!.ValidPerplexityHistory.Count);
        foreach (var (resumed, calmPpl) in a.Metrics.ValidPerplexityHistory.Zip(b.Metrics.ValidPerplexityHistory))
            Assert.Equal(1.0, resumed / calmPpl, 5);
        Assert.Equal(1.0, a.Metrics.TestPerplexity / b.Metrics.TestPerplexity, 5);
        Assert.False(Directory.Exists(Path.Combine(_store.DataDirectory, "checkpoints", killed.Id)));
    }

    [Fact]
    public async Task A_lease_lost_while_the_first_owner_still_runs_ends_with_one_version_from_the_new_owner()
    {
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", CycleLanguage.Text(800, 6));
        var job = await _store.Jobs().EnqueueAsync(new NewTrainingJob("contested", dataset.Id, Spec(epochs: 2)));
        _store.Options.Worker.HeartbeatInterval = TimeSpan.FromSeconds(1);
        var first = InProcessWorker.Create(_store, output);
        await first.StartAsync(default);
        var running = await WaitAsync(job.Id, j => j.CheckpointStep > 0 || j.IsTerminal);
        Assert.Equal(JobStatus.Running, running.Status);
        var firstToken = running.ClaimToken!;

        // The first owner's lease passes while its process still trains; a second worker takes the job over.
        var second = InProcessWorker.Create(_store, output);
        await second.StartAsync(default);
        TrainingJobRecord now;
        while ((now = (await _store.Jobs().GetAsync(job.Id))!).ClaimToken == firstToken && !now.IsTerminal)
        {
            await _store.Jobs().ExpireLeaseAsync(job.Id, first.WorkerId);
            await Task.Delay(30);
        }
        var secondToken = now.ClaimToken!;
        Assert.Contains(job.Id, second.ClaimedJobs);

        // The first owner notices at its next heartbeat and stops its process without touching the job or the new claim's files.
        var deadline = DateTime.UtcNow + Hang;
        while (!first.FinishedClaims.Contains(firstToken) && DateTime.UtcNow < deadline) await Task.Delay(25);
        Assert.Contains(firstToken, first.FinishedClaims);
        var mid = (await _store.Jobs().GetAsync(job.Id))!;
        if (mid.Status == JobStatus.Running)
            Assert.Equal(secondToken, mid.ClaimToken);

        var done = await WaitAsync(job.Id, j => j.IsTerminal);
        await Task.WhenAll(first.StopAsync(default), second.StopAsync(default));
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(secondToken, done.ClaimToken);
        Assert.Single(await _store.Versions().ListAsync("contested"));
        Assert.Equal(done.ProducedModelVersion, (await _store.Versions().GetByJobAsync(job.Id))!.Version);
        Assert.NotEmpty(await EventsAsync(job.Id, JobEventTypes.Resumed)); // the new owner started from a checkpoint
    }

    [Fact]
    public async Task A_worker_that_dies_between_saving_the_model_and_completing_the_job_leaves_one_version()
    {
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", CycleLanguage.Text(200, 7));
        var job = await _store.Jobs().EnqueueAsync(new NewTrainingJob("once", dataset.Id, Spec(epochs: 1)));
        var dying = _processes.Start(_store, "dying", settings: new Dictionary<string, string> { ["RNNLM_TEST_WORKER_EXIT_AFTER_MODEL_SAVED"] = "1" });
        Assert.True(dying.WaitForExit(Hang), "the worker did not stop after saving");
        Assert.Equal(70, dying.ExitCode);
        // Its training process saw end-of-file on its standard input and stopped by itself.
        var childPid = (await EventsAsync(job.Id, JobEventTypes.Process)).Single(e => e.GetProperty("event").GetString() == "started").GetProperty("pid").GetInt32();
        var gone = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (IsRunning(childPid) && DateTime.UtcNow < gone) await Task.Delay(50);
        Assert.False(IsRunning(childPid), "the training process outlived its worker");
        var orphan = (await _store.Jobs().GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Running, orphan.Status); // saved in staging, never completed
        var staging = Path.Combine(_store.DataDirectory, "models", ".staging");
        Assert.Single(Directory.GetDirectories(staging));

        var next = _processes.Start(_store, "next");
        var done = await WaitAsync(job.Id, j => j.IsTerminal);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        var version = Assert.Single(await _store.Versions().ListAsync("once"));
        Assert.Equal(done.ProducedModelVersion, version.Version);
        Assert.Equal(2, version.Version); // the number the dead worker reserved is never handed out again
        // The job is succeeded at the commit; the rename into place and the clean-up follow it.
        var manifest = Path.Combine(_store.DataDirectory, version.ArtifactPath, ModelArtifacts.ManifestFile);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((!File.Exists(manifest) || Directory.GetDirectories(staging).Length > 0) && DateTime.UtcNow < deadline) await Task.Delay(25);
        Assert.True(File.Exists(manifest));
        Assert.Empty(Directory.GetDirectories(staging)); // start-up removed the dead claim's staging
        Assert.NotEmpty(await EventsAsync(job.Id, JobEventTypes.Resumed)); // from the checkpoint written after the last epoch
        next.Kill();
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    [Fact]
    public void The_standalone_worker_rejects_invalid_options_at_start()
    {
        var p = _processes.Start(_store, "invalid", settings: new Dictionary<string, string>
        {
            ["RnnLm__Worker__Concurrency"] = "0",
            ["RnnLm__Worker__MaxCrashes"] = "0",
        });
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)), "the worker did not exit");
        Assert.Equal(2, p.ExitCode);
        p.WaitForExit(); // the output readers are drained
        Assert.Contains(_processes.Lines, l => l.Contains("RnnLm:Worker:Concurrency", StringComparison.Ordinal));
        Assert.Contains(_processes.Lines, l => l.Contains("RnnLm:Worker:MaxCrashes", StringComparison.Ordinal));
    }
}
