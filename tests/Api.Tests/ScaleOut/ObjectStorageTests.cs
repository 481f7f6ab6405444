using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.Endpoints;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Tests.Shared;
using RnnLmService.Worker.Tests.Workers;
using Xunit.Abstractions;

namespace RnnLmService.Api.Tests.ScaleOut;

/// <summary>
/// API and worker with no shared volume: each has its own data directory, they share only the database and an S3
/// bucket (s3rver on loopback). The API takes the upload, a standalone worker process trains from the bucket's copy
/// and publishes there, a warm start fetches its parent from the bucket, and the API serves and exports from its cache.
/// </summary>
public sealed class ObjectStorageTests(ITestOutputHelper output) : IDisposable
{
    private readonly S3rverServer _s3 = new();
    private readonly WorkerProcesses _workers = new(output);
    private readonly string _root = Directory.CreateTempSubdirectory("rnnlm-s3-e2e-").FullName;
    private readonly string _bucket = S3rverServer.NewBucket();

    private Dictionary<string, string> S3Settings(string separator) => new()
    {
        [$"RnnLm{separator}Storage{separator}Provider"] = "s3",
        [$"RnnLm{separator}Storage{separator}S3{separator}Endpoint"] = _s3.Endpoint,
        [$"RnnLm{separator}Storage{separator}S3{separator}Bucket"] = _bucket,
        [$"RnnLm{separator}Storage{separator}S3{separator}AccessKey"] = S3rverServer.AccessKey,
        [$"RnnLm{separator}Storage{separator}S3{separator}SecretKey"] = S3rverServer.SecretKey,
        [$"RnnLm{separator}Store{separator}ConnectionString"] = $"Data Source={Path.Combine(_root, "shared.db")}",
    };

    private sealed class S3Api(IReadOnlyDictionary<string, string> settings) : ApiFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => settings;
    }

    [Fact]
    public async Task A_worker_and_an_api_that_share_only_a_bucket_train_publish_and_serve()
    {
        await using var api = new S3Api(S3Settings(":"));
        using var client = api.CreateClient();
        var workerData = Path.Combine(_root, "worker-data");
        var workerSettings = S3Settings("__");
        workerSettings["RnnLm__DataDirectory"] = workerData;
        // Only to start the worker (its own database file is unused: the connection string names the shared one); the
        // worker data directory goes with _root at Dispose, after the worker has stopped.
        var workerStore = (await RnnLmService.Worker.Tests.TestStore.CreateAsync(StoreProviders.Sqlite, output, workerData))!;
        _workers.Start(workerStore, "worker", settings: workerSettings);

        var dataset = await Api.UploadTextAsync(client, Api.Cycle(80, 1));
        var datasetId = dataset.GetProperty("id").GetString()!;
        var first = await QueueAsync(client, Api.Job(datasetId, "s3-model", epochs: 2));
        Assert.Equal("succeeded", (await Api.WaitAsync(client, first, Api.IsTerminal)).GetProperty("status").GetString());
        // The worker prepared the token files in its own cache; the API, with no shared volume, sees their state.
        var preparations = (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{datasetId}")).GetProperty("preparations");
        Assert.Equal(1, preparations.GetArrayLength());
        Assert.Equal("ready", preparations[0].GetProperty("status").GetString());
        Assert.True(preparations[0].GetProperty("tokens").GetProperty("train").GetInt64() > 0, preparations.GetRawText());
        // A warm start: the worker fetches the parent from the bucket.
        var second = await QueueAsync(client, new { datasetId, modelName = "s3-child", init = "s3-model@1", training = new { epochs = 1, batchSize = 4, evalBatchSize = 2, bptt = 8, optimizer = "adam", learningRate = 0.01 } });
        var child = await Api.WaitAsync(client, second, Api.IsTerminal);
        Assert.True(child.GetProperty("status").GetString() == "succeeded", child.GetRawText());

        // Everything is in the bucket, nothing in either data directory's own tree.
        var bucket = new S3ArtifactStore(new S3StorageOptions
        {
            Endpoint = _s3.Endpoint, Bucket = _bucket, AccessKey = S3rverServer.AccessKey, SecretKey = S3rverServer.SecretKey,
        }, Path.Combine(_root, "reader-cache"));
        Assert.Equal(["test.txt", "train.txt", "valid.txt"], await bucket.ListAsync($"datasets/{datasetId}"));
        Assert.Contains("model.json", await bucket.ListAsync("models/s3-model/1"));
        Assert.Equal("s3-model@1", (await bucket.ReadModelManifestAsync("models/s3-child/1")).Parent);
        Assert.Empty(await bucket.ListAsync("checkpoints"));   // a succeeded job's stored checkpoints are deleted with it
        foreach (var data in new[] { api.DataDirectory, workerData })
        {
            Assert.False(Directory.Exists(Path.Combine(data, "datasets", datasetId)), $"{data} holds the dataset");
            Assert.False(Directory.Exists(Path.Combine(data, "models", "s3-model")), $"{data} holds the model");
        }

        // The API serves and exports from its own cache of the bucket.
        HttpResponseMessage response;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);   // the registry learns of versions by polling the store
        while ((response = await client.PostJsonAsync("/api/models/s3-model/next-word", new { context = "w02 w03 w04", topK = 3 })).StatusCode != HttpStatusCode.OK
               && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        var answer = await InferenceApiTests.Ok<NextWordResponse>(response);
        Assert.Equal("s3-model@1", answer.Model);
        Assert.Equal(3, answer.Words.Count);
        Assert.True(File.Exists(Path.Combine(api.DataDirectory, "cache", "models", "s3-model", "1", "weights.bin")));
        var export = await client.GetAsync("/api/models/s3-child@1/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.True((await export.Content.ReadAsByteArrayAsync()).Length > 1000);

        // Deleting a version deletes its objects.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/models/s3-child@1")).StatusCode);
        Assert.Empty(await bucket.ListAsync("models/s3-child/1"));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/datasets/{datasetId}")).StatusCode);
        Assert.Empty(await bucket.ListAsync($"datasets/{datasetId}"));
        Assert.Empty(await bucket.ListAsync($"prepared/{datasetId}"));   // its published preparation states go with it
    }

    private static async Task<string> QueueAsync(HttpClient client, object job)
    {
        var response = await client.PostAsJsonAsync("/api/training-jobs", job);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    public void Dispose()
    {
        _workers.Dispose();
        _s3.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
