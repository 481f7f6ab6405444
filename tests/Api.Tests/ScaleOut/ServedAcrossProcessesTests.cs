using System.Diagnostics;
using System.Net;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.Endpoints;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using RnnLmService.Worker.Tests;
using RnnLmService.Worker.Tests.Workers;
using Xunit.Abstractions;

namespace RnnLmService.Api.Tests.ScaleOut;

/// <summary>
/// Scale-out as deployed: a standalone worker process trains a queued job; an API host with its in-process worker
/// off, on the same store and data directory, serves the new model without a restart (its registry polls the store).
/// On PostgreSQL when <c>RNNLM_TEST_POSTGRES</c> is set (required in CI, as <see cref="TestStore"/> rules).
/// </summary>
public sealed class ServedAcrossProcessesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestStore? _store;
    private readonly WorkerProcesses _workers = new(output);

    public async Task InitializeAsync() => _store = await TestStore.CreateAsync(StoreProviders.Postgres, output);

    public async Task DisposeAsync()
    {
        _workers.Dispose();
        if (_store is not null) await _store.DisposeAsync();
    }

    private sealed class SharedStoreApi(TestStore store) : ApiFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["RnnLm:DataDirectory"] = store.DataDirectory,
            ["RnnLm:Store:Provider"] = store.Provider,
            ["RnnLm:Store:ConnectionString"] = store.Options.Store.ConnectionString!,
            ["RnnLm:Worker:Enabled"] = "false",
            ["RnnLm:StarterModel"] = "false",
        };
    }

    [Fact]
    public async Task A_model_trained_by_a_worker_process_is_served_by_an_api_that_did_not_train_it()
    {
        if (_store is null) return; // no PostgreSQL outside CI: noted in the output by TestStore
        var clock = Stopwatch.StartNew();
        await using var api = new SharedStoreApi(_store);
        using var client = api.CreateClient();
        // No model and no job that will produce one: 404, not a stale answer.
        await InferenceApiTests.AssertProblem(
            await client.PostJsonAsync("/api/models/remote/next-word", new { context = "w01 w02" }), HttpStatusCode.NotFound, "model");

        var text = string.Concat(Enumerable.Range(0, 200).Select(i => string.Join(' ', Enumerable.Range(i % 10, 12 - i % 10).Select(w => $"w{w:00}")) + "\n"));
        var dataset = await _store.Datasets().CreateFromTextAsync("cycle", text);
        var spec = JobSpecJson.Serialize(new TrainingSpec
        {
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word },
            Model = new ModelOptions { CellType = CellType.Gru, EmbeddingSize = 8, HiddenSize = 8, Layers = 1, Dropout = 0 },
            Training = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 0.02, Epochs = 1, BatchSize = 2, EvalBatchSize = 2, Bptt = 8, Clip = 1, Patience = 0, Seed = 3 },
        });
        var job = await _store.Jobs().EnqueueAsync(new NewTrainingJob("remote", dataset.Id, spec));
        // Queued in the shared store: "not ready" (503) naming the job that will produce it.
        var pending = await client.PostJsonAsync("/api/models/remote/next-word", new { context = "w01 w02" });
        Assert.Contains(job.Id, await pending.Content.ReadAsStringAsync());
        await InferenceApiTests.AssertProblem(pending, HttpStatusCode.ServiceUnavailable, "model");
        var worker = _workers.Start(_store, "worker");

        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        TrainingJobRecord done;
        while (!(done = (await _store.Jobs().GetAsync(job.Id))!).IsTerminal && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        output.WriteLine($"trained by {done.ClaimedBy} (worker pid {worker.Id}) in {clock.Elapsed}");
        Assert.False(worker.HasExited);
        Assert.Contains($"/{worker.Id}/", done.ClaimedBy); // the worker process ran it, not the API host

        // The API host never ran a worker; it learns of remote@1 from the store within a poll or two.
        NextWordResponse? answer = null;
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (answer is null && DateTime.UtcNow < deadline)
        {
            var response = await client.PostJsonAsync("/api/models/remote/next-word", new { context = "w01 w02", topK = 3 });
            if (response.StatusCode == HttpStatusCode.OK) answer = await InferenceApiTests.Ok<NextWordResponse>(response);
            else await Task.Delay(200);
        }
        Assert.NotNull(answer);
        Assert.Equal("remote@1", answer.Model);
        Assert.Equal(3, answer.Words.Count);
        Assert.StartsWith("w", answer.Words[0].Word);
        output.WriteLine($"served: {answer.Words[0].Word} after {clock.Elapsed}");
    }
}
