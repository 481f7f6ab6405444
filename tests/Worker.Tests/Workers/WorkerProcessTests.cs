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
    private readonly WorkerProcesses _workers = new(output);

    public async Task InitializeAsync()
    {
        var pg = Environment.GetEnvironmentVariable(TestStore.PostgresVariable);
        _store = (await TestStore.CreateAsync(string.IsNullOrWhiteSpace(pg) || pg == "skip" ? StoreProviders.Sqlite : StoreProviders.Postgres, output))!;
        output.WriteLine($"store: {_store.Provider}");
    }

    public async Task DisposeAsync()
    {
        _workers.Dispose();
        await _store.DisposeAsync();
    }

    private Process StartWorker(string name) => _workers.Start(_store, name);

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
