using RnnLmService.Tests.Shared;
using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>The worker with the real engine on tiny corpora, against a real SQLite store.</summary>
public sealed class TrainingWorkerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Hang = TimeSpan.FromMinutes(3);
    private TestStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = (await TestStore.CreateAsync(StoreProviders.Sqlite, output))!;
        var w = _store.Options.Worker;
        w.PollInterval = TimeSpan.FromMilliseconds(50);
        w.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        w.LeaseDuration = TimeSpan.FromSeconds(20);
        w.CheckpointInterval = TimeSpan.FromHours(1); // checkpoints only at epoch ends and on shutdown
        w.TorchThreads = 1;
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();


    private static string Spec(int epochs = 1, int batchSize = 4) => JobSpecJson.Serialize(new TrainingSpec
    {
        Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word },
        Model = new ModelOptions { CellType = CellType.Gru, EmbeddingSize = 16, HiddenSize = 16, Layers = 1, Dropout = 0 },
        Training = new TrainingOptions
        {
            Optimizer = OptimizerKind.Adam, LearningRate = 0.02, Epochs = epochs, BatchSize = batchSize, EvalBatchSize = 2,
            Bptt = 8, Clip = 1.0, Patience = 0, Seed = 7,
        },
    });

    private TrainingWorker NewWorker() => InProcessWorker.Create(_store, output);

    private async Task<TrainingJobRecord> WaitAsync(string jobId, Func<TrainingJobRecord, bool> until)
    {
        var jobs = _store.Jobs();
        var deadline = DateTime.UtcNow + Hang;
        while (DateTime.UtcNow < deadline)
        {
            var job = (await jobs.GetAsync(jobId))!;
            if (until(job)) return job;
            await Task.Delay(25);
        }
        throw new TimeoutException($"job {jobId} did not reach the expected state");
    }

    [Fact]
    public async Task Two_workers_started_together_never_run_the_same_job_and_both_run_some()
    {
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", CycleLanguage.Text(60, 1));
        var jobs = _store.Jobs();
        var ids = new List<string>();
        for (var i = 0; i < 6; i++) ids.Add((await jobs.EnqueueAsync(new NewTrainingJob($"m{i}", dataset.Id, Spec(epochs: 2)))).Id);

        var a = NewWorker();
        var b = NewWorker();
        using var barrier = new Barrier(2);
        await Task.WhenAll(
            Task.Factory.StartNew(() => { barrier.SignalAndWait(); a.StartAsync(default).GetAwaiter().GetResult(); }, TaskCreationOptions.LongRunning),
            Task.Factory.StartNew(() => { barrier.SignalAndWait(); b.StartAsync(default).GetAwaiter().GetResult(); }, TaskCreationOptions.LongRunning));
        foreach (var id in ids) await WaitAsync(id, j => j.IsTerminal);
        await Task.WhenAll(a.StopAsync(default), b.StopAsync(default));

        output.WriteLine($"a ran {a.ClaimedJobs.Count}, b ran {b.ClaimedJobs.Count}");
        Assert.Empty(a.ClaimedJobs.Intersect(b.ClaimedJobs));
        Assert.Equal(ids.Order(), a.ClaimedJobs.Concat(b.ClaimedJobs).Order());
        Assert.NotEmpty(a.ClaimedJobs);
        Assert.NotEmpty(b.ClaimedJobs);
        foreach (var id in ids)
        {
            var job = (await jobs.GetAsync(id))!;
            Assert.Equal(JobStatus.Succeeded, job.Status);
            Assert.Equal(1, job.Attempts);
            Assert.Equal(1, job.ProducedModelVersion);
            Assert.True(job.TestPerplexity > 1);
        }
    }

    [Fact]
    public async Task A_worker_stopped_mid_training_leaves_a_checkpoint_and_after_a_crashed_claim_another_resumes_and_finishes()
    {
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", CycleLanguage.Text(800, 2));
        var job = await _store.Jobs().EnqueueAsync(new NewTrainingJob("resumable", dataset.Id, Spec(epochs: 2, batchSize: 2), Promote: true));

        var first = NewWorker();
        await first.StartAsync(default);
        var running = await WaitAsync(job.Id, j => j.Step > 0 || j.IsTerminal);
        Assert.Equal(JobStatus.Running, running.Status);
        await first.StopAsync(default); // graceful: checkpoint at the next batch, then release

        var released = (await _store.Jobs().GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Queued, released.Status);
        var checkpoints = Path.Combine(_store.DataDirectory, "checkpoints", job.Id);
        Assert.NotEmpty(Directory.GetFiles(checkpoints, "*", SearchOption.AllDirectories));

        // Then a worker that claims it and dies without a word (a SIGKILL): its short lease runs out.
        Assert.Equal(job.Id, (await _store.Jobs().ClaimAsync("crashed-worker", TimeSpan.FromMilliseconds(300)))!.Id);

        var second = NewWorker();
        await second.StartAsync(default);
        var done = await WaitAsync(job.Id, j => j.IsTerminal);
        await second.StopAsync(default);

        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(3, done.Attempts);
        Assert.NotNull(done.ResumedFrom);
        var events = await _store.Jobs().EventsAfterAsync(job.Id);
        var resumed = Assert.Single(events, e => e.Type == JobEventTypes.Resumed);
        var at = JsonDocument.Parse(resumed.PayloadJson).RootElement;
        output.WriteLine($"resumed at {resumed.PayloadJson}");
        Assert.True(at.GetProperty("epoch").GetInt32() > 1 || at.GetProperty("step").GetInt64() > 0);
        Assert.Equal(["queued", "running", "queued", "running", "running", "succeeded"],
            events.Where(e => e.Type == JobEventTypes.Status).Select(e => JsonDocument.Parse(e.PayloadJson).RootElement.GetProperty("status").GetString()));

        var version = (await _store.Versions().GetAsync("resumable"))!;
        Assert.Equal(1, version.Version);
        Assert.True(version.Promoted);
        Assert.Equal("resumable", await _store.Versions().GetDefaultModelAsync());
        var manifest = ModelArtifacts.ReadManifest(Path.Combine(_store.DataDirectory, version.ArtifactPath));
        Assert.Equal(dataset.Sha256, manifest.DatasetHash);
        Assert.False(Directory.Exists(checkpoints)); // a finished job's checkpoint is gone
    }

    [Fact]
    public async Task A_running_job_cancelled_by_the_client_stops_and_leaves_no_model()
    {
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", CycleLanguage.Text(1500, 3));
        var job = await _store.Jobs().EnqueueAsync(new NewTrainingJob("cancelled", dataset.Id, Spec(epochs: 5, batchSize: 2)));
        var worker = NewWorker();
        await worker.StartAsync(default);
        await WaitAsync(job.Id, j => j.Step > 0 || j.IsTerminal);
        await _store.Jobs().RequestCancelAsync(job.Id);
        var done = await WaitAsync(job.Id, j => j.IsTerminal);
        await worker.StopAsync(default);

        Assert.Equal(JobStatus.Cancelled, done.Status);
        Assert.Empty(await _store.Versions().ListAsync("cancelled"));
        Assert.False(Directory.Exists(Path.Combine(_store.DataDirectory, "checkpoints", job.Id)));
        Assert.False(Directory.Exists(Path.Combine(_store.DataDirectory, "models", "cancelled")));
    }

    [Fact]
    public async Task An_unwritable_checkpoint_directory_fails_the_job_clearly_and_the_worker_lives_on()
    {
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", CycleLanguage.Text(60, 4));
        // A file where the checkpoints directory must be: as real as a read-only disk, even for root.
        var blocker = Path.Combine(_store.DataDirectory, "checkpoints");
        await File.WriteAllTextAsync(blocker, "not a directory");
        var jobs = _store.Jobs();
        var first = await jobs.EnqueueAsync(new NewTrainingJob("blocked", dataset.Id, Spec()));
        var second = await jobs.EnqueueAsync(new NewTrainingJob("blocked2", dataset.Id, Spec()));

        var worker = NewWorker();
        await worker.StartAsync(default);
        var failed = await WaitAsync(first.Id, j => j.IsTerminal);
        Assert.Equal(JobStatus.Failed, failed.Status);
        output.WriteLine(failed.FailureReason);
        Assert.Contains("checkpoint", failed.FailureReason, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(_store.DataDirectory, failed.FailureReason);   // no server path: it is in the log under the job id
        Assert.Contains("data directory", failed.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", failed.FailureReason); // no stack
        Assert.Equal(JobStatus.Failed, (await WaitAsync(second.Id, j => j.IsTerminal)).Status);

        // Still alive: with the fault gone the next job trains.
        File.Delete(blocker);
        var third = await jobs.EnqueueAsync(new NewTrainingJob("unblocked", dataset.Id, Spec()));
        Assert.Equal(JobStatus.Succeeded, (await WaitAsync(third.Id, j => j.IsTerminal)).Status);
        Assert.False(worker.ExecuteTask!.IsCompleted);
        await worker.StopAsync(default);
    }
}
