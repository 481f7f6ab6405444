using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Api.Tests.Endpoints;

public sealed class SweepsApiTests(ServiceFactory service, QueueOnlyFactory queueOnly, Xunit.Abstractions.ITestOutputHelper output)
    : IClassFixture<ServiceFactory>, IClassFixture<QueueOnlyFactory>
{
    private readonly HttpClient _client = service.CreateClient();
    private readonly HttpClient _queue = queueOnly.CreateClient();

    /// <summary>The tiny job of <see cref="Api.Job"/> without dataset and model name: what a sweep's points start from.</summary>
    private static JsonObject Base()
    {
        var job = JsonSerializer.SerializeToNode(Api.Job("x", "x"), Api.Json)!.AsObject();
        job.Remove("datasetId");
        job.Remove("modelName");
        job.Remove("promote");
        return job;
    }

    private static async Task<string> DatasetAsync(HttpClient client, int seed) =>
        (await Api.UploadTextAsync(client, Api.Cycle(40, seed))).GetProperty("id").GetString()!;

    private static JsonObject Sweep(string name, string dataset, string grid, JsonObject? @base = null) => new()
    {
        ["name"] = name, ["datasetId"] = dataset, ["base"] = @base ?? Base(), ["grid"] = JsonNode.Parse(grid),
    };

    private static async Task<JsonElement> QueueAsync(HttpClient client, JsonObject sweep)
    {
        var response = await client.PostAsync("/api/sweeps", new StringContent(sweep.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal($"/api/sweeps/{body.GetProperty("sweep").GetProperty("id").GetString()}", response.Headers.Location?.OriginalString);
        return body;
    }

    private static async Task<int> QueuedJobsAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/api/training-jobs?status=queued")).GetProperty("total").GetInt32();

    [Fact]
    public async Task A_sweep_of_4_points_runs_4_ordinary_jobs_and_compares_them_with_a_best_point()
    {
        var dataset = await DatasetAsync(_client, 11);
        var queued = await QueueAsync(_client, Sweep("grid", dataset, """{"training.bptt": [4, 8], "model.hiddenSize": [8, 16]}"""));
        var id = queued.GetProperty("sweep").GetProperty("id").GetString()!;
        Assert.Equal(4, queued.GetProperty("sweep").GetProperty("points").GetInt32());
        var rows = queued.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["grid-0", "grid-1", "grid-2", "grid-3"], rows.Select(r => r.GetProperty("modelName").GetString()));

        // Each point is an ordinary job whose spec carries the point's values over the base.
        foreach (var (row, (bptt, hidden)) in rows.Zip(new[] { (4, 8), (4, 16), (8, 8), (8, 16) }))
        {
            var job = await Api.GetJobAsync(_client, row.GetProperty("jobId").GetString()!);
            Assert.Equal(bptt, job.GetProperty("spec").GetProperty("training").GetProperty("bptt").GetInt32());
            Assert.Equal(hidden, job.GetProperty("spec").GetProperty("model").GetProperty("hiddenSize").GetInt32());
            Assert.Equal(16, job.GetProperty("spec").GetProperty("model").GetProperty("embeddingSize").GetInt32());   // from the base
            Assert.Equal(bptt, row.GetProperty("values").GetProperty("training.bptt").GetInt32());
        }

        var done = await WaitAsync(_client, id);
        output.WriteLine(done.ToString());
        Assert.Equal("succeeded", done.GetProperty("sweep").GetProperty("status").GetString());
        Assert.Equal(4, done.GetProperty("sweep").GetProperty("jobs").GetProperty("succeeded").GetInt32());
        rows = done.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(4, rows.Count);
        var versions = service.Services.GetRequiredService<ModelVersionStore>();
        foreach (var row in rows)
        {
            var name = row.GetProperty("modelName").GetString()!;
            Assert.Equal($"{name}@1", row.GetProperty("model").GetString());
            Assert.True(row.GetProperty("testPerplexity").GetDouble() > 1);
            Assert.True(row.GetProperty("validPerplexity").GetDouble() > 1);
            Assert.True(row.GetProperty("tokensPerSecond").GetDouble() > 0);
            Assert.True(row.GetProperty("nextWordLatencyMs").GetDouble() > 0);
            // Read from the model's metrics when they record it, null otherwise.
            using var metrics = JsonDocument.Parse((await versions.GetAsync(name, 1))!.MetricsJson);
            Assert.Equal(metrics.RootElement.GetProperty("bestValidPerplexity").GetDouble(), row.GetProperty("validPerplexity").GetDouble(), 6);
            foreach (var (column, metric) in new[] { ("bitsPerCharacter", "testBitsPerCharacter"), ("parameters", "parameters"), ("modelBytes", "parameterBytes") })
                if (metrics.RootElement.TryGetProperty(metric, out var value))
                    Assert.Equal(value.GetDouble(), row.GetProperty(column).GetDouble(), 6);
                else
                    Assert.Equal(JsonValueKind.Null, row.GetProperty(column).ValueKind);
        }
        var best = rows.MinBy(r => r.GetProperty("validPerplexity").GetDouble()).GetProperty("point").GetInt32();
        Assert.Equal(best, done.GetProperty("bestPoint").GetInt32());
        Assert.Equal([best], rows.Where(r => r.GetProperty("best").GetBoolean()).Select(r => r.GetProperty("point").GetInt32()));

        // The latency is measured once and kept.
        var again = await _client.GetFromJsonAsync<JsonElement>($"/api/sweeps/{id}");
        Assert.Equal(rows.Select(r => r.GetProperty("nextWordLatencyMs").GetDouble()),
            again.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("nextWordLatencyMs").GetDouble()));
        var list = await _client.GetFromJsonAsync<JsonElement>("/api/sweeps");
        Assert.Contains(list.GetProperty("items").EnumerateArray(), s => s.GetProperty("id").GetString() == id && s.GetProperty("status").GetString() == "succeeded");
        await Api.AssertProblemAsync(await _client.PostAsync($"/api/sweeps/{id}/cancel", null), 409);
    }

    public static TheoryData<string, string, string> BadSweeps => new()
    {
        // what to change ("grid" or a top-level field), its JSON, the field the 400 names
        { "grid", """{"model.hiddenSiz": [8]}""", "grid.model.hiddenSiz" },
        { "grid", """{"training.bptt": []}""", "grid.training.bptt" },
        { "grid", """{"training.bptt": [1,2,3,4,5,6,7,8,9], "training.seed": [1,2,3,4,5,6,7,8,9]}""", "grid" },   // 81 > 64 points
        { "grid", """{"model.hiddenSize": [16, 0]}""", "points[1].model.hiddenSize" },
        { "grid", """{"training.batchSize": [4, 4000]}""", "points[1].training.batchSize" },
        { "grid", """{"preset": ["fast", "turbo"]}""", "points[1].preset" },
        { "grid", """{"model.cellType": ["gru", "transformer"]}""", "points[1].model.cellType" },
        { "name", "\"Bad Name\"", "name" },
        { "datasetId", "\"no-such-dataset\"", "datasetId" },
        { "base", """{"modelName": "mine"}""", "base.modelName" },
        { "base", """{"promote": true}""", "base.promote" },
        { "bogus", "1", "bogus" },
    };

    [Theory]
    [MemberData(nameof(BadSweeps))]
    public async Task A_bad_sweep_is_a_400_naming_the_field_and_queues_nothing(string change, string json, string field)
    {
        var sweep = Sweep("bad", await DatasetAsync(_queue, 12), """{"training.bptt": [4, 8]}""");
        sweep[change] = JsonNode.Parse(json);
        var before = await QueuedJobsAsync(_queue);
        var response = await _queue.PostAsync("/api/sweeps", new StringContent(sweep.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        var problem = await Api.AssertProblemAsync(response, 400, field);
        if (field.StartsWith("points[1]")) Assert.StartsWith("Point 1 (", problem.GetProperty("detail").GetString());
        Assert.Equal(before, await QueuedJobsAsync(_queue));
    }

    [Fact]
    public async Task Cancel_cancels_the_jobs_that_have_not_ended()
    {
        var queued = await QueueAsync(_queue, Sweep("to-cancel", await DatasetAsync(_queue, 13), """{"model.dropout": [0.0, 0.1, 0.2]}"""));
        var id = queued.GetProperty("sweep").GetProperty("id").GetString()!;
        Assert.Equal("queued", queued.GetProperty("sweep").GetProperty("status").GetString());

        var cancel = await _queue.PostAsync($"/api/sweeps/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var body = await cancel.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("cancelled", body.GetProperty("sweep").GetProperty("status").GetString());
        foreach (var row in body.GetProperty("rows").EnumerateArray())
            Assert.Equal("cancelled", (await Api.GetJobAsync(_queue, row.GetProperty("jobId").GetString()!)).GetProperty("status").GetString());

        await Api.AssertProblemAsync(await _queue.PostAsync($"/api/sweeps/{id}/cancel", null), 409);
        await Api.AssertProblemAsync(await _queue.PostAsync("/api/sweeps/nope/cancel", null), 404);
        await Api.AssertProblemAsync(await _queue.GetAsync("/api/sweeps/nope"), 404);
        await Api.AssertProblemAsync(await _queue.GetAsync("/api/sweeps?limit=0"), 400, "limit");
        await Api.AssertProblemAsync(await _queue.PostAsync("/api/sweeps", new StringContent("{}", System.Text.Encoding.UTF8, "text/plain")), 415);
    }

    /// <summary>Polls the sweep until every job has ended; the deadline only catches hangs.</summary>
    private static async Task<JsonElement> WaitAsync(HttpClient client, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (DateTime.UtcNow < deadline)
        {
            var sweep = await client.GetFromJsonAsync<JsonElement>($"/api/sweeps/{id}");
            if (sweep.GetProperty("sweep").GetProperty("status").GetString() is not ("queued" or "running")) return sweep;
            await Task.Delay(200);
        }
        throw new TimeoutException($"sweep {id} did not finish");
    }
}
