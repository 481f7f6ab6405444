using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Api.Tests;

public sealed class TrainingJobsApiTests(ServiceFactory service, QueueOnlyFactory queueOnly)
    : IClassFixture<ServiceFactory>, IClassFixture<QueueOnlyFactory>
{
    private readonly HttpClient _client = service.CreateClient();
    private readonly HttpClient _queue = queueOnly.CreateClient();

    private static async Task<(string Id, HttpResponseMessage Response, JsonElement Body)> QueueAsync(HttpClient client, object job)
    {
        var response = await client.PostAsJsonAsync("/api/training-jobs", job);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        var body = JsonDocument.Parse(text).RootElement;
        return (body.GetProperty("id").GetString()!, response, body);
    }

    [Fact]
    public async Task Upload_queue_poll_succeeded_and_the_model_version_is_recorded()
    {
        var dataset = await Api.UploadTextAsync(_client, Api.Cycle(80, 1));
        var (id, response, queued) = await QueueAsync(_client, Api.Job(dataset.GetProperty("id").GetString()!, "api-model", epochs: 2, promote: true));
        Assert.Equal($"/api/training-jobs/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("queued", queued.GetProperty("status").GetString());
        Assert.Equal(16, queued.GetProperty("spec").GetProperty("model").GetProperty("hiddenSize").GetInt32());

        var job = await Api.WaitAsync(_client, id, Api.IsTerminal);
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal("api-model@1", job.GetProperty("producedModel").GetProperty("ref").GetString());
        Assert.True(job.GetProperty("testPerplexity").GetDouble() > 1);
        var progress = job.GetProperty("progress");
        Assert.Equal(2, progress.GetProperty("epoch").GetInt32());
        Assert.Equal(progress.GetProperty("totalSteps").GetInt64(), progress.GetProperty("step").GetInt64());
        Assert.True(progress.GetProperty("elapsedSeconds").GetDouble() > 0);
        Assert.True(progress.GetProperty("validPerplexity").GetDouble() > 1);

        var versions = service.Services.GetRequiredService<ModelVersionStore>();
        var version = (await versions.GetAsync("api-model", 1))!;
        Assert.Equal(id, version.JobId);
        Assert.True(version.Promoted);
        Assert.Equal("api-model", await versions.GetDefaultModelAsync());
        var manifest = ModelArtifacts.ReadManifest(Path.Combine(service.DataDirectory, version.ArtifactPath));
        Assert.Equal(1, manifest.Version);
        Assert.Equal(dataset.GetProperty("sha256").GetString(), manifest.DatasetHash);
        // The version answers next-word (the cycle language: w05 follows w04). Thread-safe here: nothing else uses it.
        using (var lm = RnnLmService.Core.Inference.LanguageModel.Load(Path.Combine(service.DataDirectory, version.ArtifactPath)))
        {
            var next = lm.NextWord(new RnnLmService.Core.Inference.NextWordQuery("w02 w03 w04", TopK: 3));
            Assert.Equal(3, next.Top.Count);
            Assert.Equal("w05", next.Top[0].Word);
        }

        // Events as JSON, in order, ending at the terminal status; a cursor returns the rest.
        var events = await _client.GetFromJsonAsync<JsonElement>($"/api/training-jobs/{id}/events");
        var items = events.GetProperty("items").EnumerateArray().ToList();
        var ids = items.Select(e => e.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.True(events.GetProperty("finished").GetBoolean());
        Assert.Equal(["queued", "running", "succeeded"], items.Where(e => e.GetProperty("type").GetString() == "status")
            .Select(e => e.GetProperty("data").GetProperty("status").GetString()));
        Assert.Contains(items, e => e.GetProperty("type").GetString() == "progress");
        Assert.Equal("status", items[^1].GetProperty("type").GetString());
        var after = await _client.GetFromJsonAsync<JsonElement>($"/api/training-jobs/{id}/events?after={ids[1]}");
        Assert.Equal(ids.Skip(2), after.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));

        // The same as Server-Sent Events: the stream ends by itself after the terminal status.
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/training-jobs/{id}/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var sse = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", sse.Content.Headers.ContentType?.MediaType);
        var streamed = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(await sse.Content.ReadAsStreamAsync()).EnumerateAsync()) streamed.Add(item);
        Assert.Equal(ids.Select(i => i.ToString()), streamed.Select(s => s.EventId));
        Assert.Equal("succeeded", JsonNode.Parse(streamed[^1].Data)!["status"]!.GetValue<string>());

        var list = await _client.GetFromJsonAsync<JsonElement>("/api/training-jobs?status=succeeded");
        Assert.Contains(list.GetProperty("items").EnumerateArray(), j => j.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task A_running_job_cancelled_stops_and_its_events_end_cancelled()
    {
        var dataset = await Api.UploadTextAsync(_client, Api.Cycle(1500, 2));
        var (id, _, _) = await QueueAsync(_client, Api.Job(dataset.GetProperty("id").GetString()!, "to-cancel", epochs: 20, batchSize: 2));
        var running = await Api.WaitAsync(_client, id, j => Api.IsTerminal(j) || j.GetProperty("progress").GetProperty("step").GetInt64() > 0);
        Assert.Equal("running", running.GetProperty("status").GetString());
        Assert.True(running.GetProperty("progress").GetProperty("etaSeconds").GetDouble() > 0);

        var cancel = await _client.PostAsync($"/api/training-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.True((await cancel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("cancelRequested").GetBoolean());
        var done = await Api.WaitAsync(_client, id, Api.IsTerminal);
        Assert.Equal("cancelled", done.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("producedModel").ValueKind);

        var events = await _client.GetFromJsonAsync<JsonElement>($"/api/training-jobs/{id}/events");
        var last = events.GetProperty("items").EnumerateArray().Last();
        Assert.Equal("cancelled", last.GetProperty("data").GetProperty("status").GetString());
        await Api.AssertProblemAsync(await _client.PostAsync($"/api/training-jobs/{id}/cancel", null), 409);
    }

    [Fact]
    public async Task A_queued_job_cancels_at_once_and_a_second_cancel_is_409_and_unknown_ids_are_404()
    {
        var dataset = await Api.UploadTextAsync(_queue, Api.Cycle(20, 3));
        var (id, _, _) = await QueueAsync(_queue, Api.Job(dataset.GetProperty("id").GetString()!, "queued-one"));
        var cancel = await _queue.PostAsync($"/api/training-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        var problem = await Api.AssertProblemAsync(await _queue.PostAsync($"/api/training-jobs/{id}/cancel", null), 409);
        Assert.Contains("cancelled", problem.GetProperty("detail").GetString());

        await Api.AssertProblemAsync(await _queue.PostAsync("/api/training-jobs/nope/cancel", null), 404);
        await Api.AssertProblemAsync(await _queue.GetAsync("/api/training-jobs/nope"), 404);
        await Api.AssertProblemAsync(await _queue.GetAsync("/api/training-jobs/nope/events"), 404);
        await Api.AssertProblemAsync(await _queue.GetAsync("/api/training-jobs?status=done"), 400, "status");
        await Api.AssertProblemAsync(await _queue.GetAsync("/api/training-jobs?limit=0"), 400, "limit");
    }

    [Fact]
    public async Task A_bpe_adaptive_softmax_job_records_comparable_metrics_and_answers_whole_words()
    {
        var dataset = await Api.UploadTextAsync(_client, Api.Cycle(80, 3));
        var job = JsonSerializer.SerializeToNode(Api.Job(dataset.GetProperty("id").GetString()!, "bpe-model", epochs: 2), Api.Json)!.AsObject();
        job["tokenizer"] = JsonNode.Parse("""{"kind": "bpe", "vocabularySize": 270}""");
        job["model"]!["adaptiveSoftmaxCutoffs"] = JsonNode.Parse("[8, 20]");
        var (id, _, queued) = await QueueAsync(_client, job);
        Assert.Equal(270, queued.GetProperty("spec").GetProperty("tokenizer").GetProperty("vocabularySize").GetInt32());

        var done = await Api.WaitAsync(_client, id, Api.IsTerminal);
        Assert.True(done.GetProperty("status").GetString() == "succeeded", done.ToString());
        var model = await _client.GetFromJsonAsync<JsonElement>("/api/models/bpe-model");
        var metrics = model.GetProperty("versions")[0].GetProperty("metrics");
        foreach (var name in new[] { "testBitsPerCharacter", "testWordPerplexity", "parameters", "parameterBytes", "modelBytes", "trainingSeconds", "tokensPerSecond" })
            Assert.True(metrics.GetProperty(name).GetDouble() > 0, name);

        var next = await _client.PostAsJsonAsync("/api/models/bpe-model/next-word", new { context = "w02 w03", topK = 3 });
        var body = JsonDocument.Parse(await next.Content.ReadAsStringAsync()).RootElement;
        Assert.True(next.IsSuccessStatusCode, body.ToString());
        Assert.Equal("greedy-word", body.GetProperty("completion").GetString());
        Assert.DoesNotContain("Ġ", body.GetProperty("words")[0].GetProperty("word").GetString());
    }

    public static TheoryData<string, string> BadJobs => new()
    {
        // JSON path to set, value; the expected field is that full path (training.epochs) unless given after '|'
        { "modelName", "\"../etc/passwd\"" },
        { "modelName", "\"Has Upper\"" },
        { "modelName", $"\"{new string('a', 65)}\"" },
        { "datasetId", "\"no-such-dataset\"" },
        { "model.hiddenSize", "0" },
        { "model.embeddingSize", "5000" },
        { "model.layers", "17" },
        { "model.dropout", "1.5" },
        { "model.cellType", "\"transformer\"" },
        { "model.tieWeights|model.tieWeights", "true" }, // embedding 16 vs hidden 32 below
        { "training.learningRate", "0" },
        { "training.epochs", "0" },
        { "training.bptt", "0" },
        { "training.clip", "-1" },
        { "training.optimizer", "\"lion\"" },
        { "training.batchSize", "4000" },       // far more streams than the tiny corpus has tokens
        { "training.patience", "-1" },
        { "tokenizer.maxVocabularySize", "2" },
        { "tokenizer.minCount", "0" },
        { "tokenizer.kind", "\"sentencepiece\"" },
        { "tokenizer.vocabularySize|tokenizer.vocabularySize", "500" },          // a BPE setting on the word tokenizer
        { "model.adaptiveSoftmaxCutoffs|model.adaptiveSoftmaxCutoffs", "[50, 20]" },
        { "model.adaptiveSoftmaxCutoffs|model.tieWeights", "[4]" },              // with tieWeights set below
        { "training.bogus", "1" },
        { "training.gradientAccumulation", "3" },  // does not divide batchSize 4
        { "training.maxSteps", "0" },
        { "training.maxMinutes", "-1" },
        { "training.schedule", "\"linear\"" },
        { "training.optimizer", "\"asgd\"" },
        { "model.weightDrop", "1" },
        { "model.inputDropout", "0.3" },           // a locked-dropout rate without lockedDropout
        { "preset", "\"turbo\"" },
        { "priority", "5000" },
    };

    [Theory]
    [MemberData(nameof(BadJobs))]
    public async Task Each_bad_job_setting_is_a_400_naming_the_field(string path, string value)
    {
        var dataset = await Api.UploadTextAsync(_queue, Api.Cycle(20, 4));
        var parts = path.Split('|');
        var field = parts.Length > 1 ? parts[1] : parts[0];
        var body = JsonSerializer.SerializeToNode(Api.Job(dataset.GetProperty("id").GetString()!, "valid-name"), Api.Json)!.AsObject();
        if (parts[0] == "model.tieWeights") body["model"]!["hiddenSize"] = 32;
        if (parts[0] == "model.adaptiveSoftmaxCutoffs" && parts.Length > 1 && parts[1] == "model.tieWeights") body["model"]!["tieWeights"] = true;
        var segments = parts[0].Split('.');
        var target = segments.Length == 2 ? body[segments[0]]!.AsObject() : body;
        target[segments[^1]] = JsonNode.Parse(value);

        var response = await _queue.PostAsync("/api/training-jobs", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        await Api.AssertProblemAsync(response, 400, field);
    }

    [Fact]
    public async Task Presets_are_listed_with_their_figures_and_a_job_takes_one_under_its_own_fields()
    {
        var presets = await _queue.GetFromJsonAsync<JsonElement>("/api/presets");
        var byName = presets.EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal(["classic", "fast", "quality"], byName.Keys.Order());
        foreach (var p in byName.Values)
        {
            var results = p.GetProperty("results");
            Assert.Contains(results.GetProperty("status").GetString(), new[] { "measured", "not yet measured" });
            Assert.Equal(results.GetProperty("status").GetString() == "measured", results.GetProperty("testPerplexity").ValueKind == JsonValueKind.Number);
        }
        Assert.Equal(120, byName["quality"].GetProperty("spec").GetProperty("training").GetProperty("maxMinutes").GetDouble());
        Assert.Equal("ntAsgd", byName["quality"].GetProperty("settings").GetProperty("training").GetProperty("optimizer").GetString());
        Assert.Equal(20, byName["classic"].GetProperty("spec").GetProperty("training").GetProperty("learningRate").GetDouble());
        // The vocabulary options are listed in every preset's spec (off: null cutoffs, no BPE size, the word tokenizer).
        var classic = byName["classic"].GetProperty("spec");
        Assert.Equal(JsonValueKind.Null, classic.GetProperty("model").GetProperty("adaptiveSoftmaxCutoffs").ValueKind);
        Assert.Equal(4, classic.GetProperty("model").GetProperty("adaptiveSoftmaxDivValue").GetDouble());
        Assert.Equal(JsonValueKind.Null, classic.GetProperty("tokenizer").GetProperty("vocabularySize").ValueKind);
        Assert.Equal("word", classic.GetProperty("tokenizer").GetProperty("kind").GetString());

        var dataset = (await Api.UploadTextAsync(_queue, Api.Cycle(20, 4))).GetProperty("id").GetString()!;
        var (_, _, queued) = await QueueAsync(_queue, new
        {
            datasetId = dataset, modelName = "from-preset", preset = "fast",
            training = new { maxMinutes = 3, batchSize = 4 },
        });
        var spec = queued.GetProperty("spec");
        Assert.Equal(3, spec.GetProperty("training").GetProperty("maxMinutes").GetDouble());          // the job's own field
        Assert.Equal(4, spec.GetProperty("training").GetProperty("batchSize").GetInt32());
        Assert.Equal("adamW", spec.GetProperty("training").GetProperty("optimizer").GetString());     // the preset's
        Assert.Equal(0.002, spec.GetProperty("training").GetProperty("learningRate").GetDouble());    // AdamW's default rate
        Assert.Equal(256, spec.GetProperty("model").GetProperty("hiddenSize").GetInt32());

        var unknown = await _queue.PostAsJsonAsync("/api/training-jobs", new { datasetId = dataset, modelName = "x", preset = "turbo" });
        var problem = await Api.AssertProblemAsync(unknown, 400, "preset");
        Assert.Contains("classic, fast, quality", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task The_same_unique_key_queues_one_job()
    {
        var dataset = await Api.UploadTextAsync(_queue, Api.Cycle(20, 5));
        var job = JsonSerializer.SerializeToNode(Api.Job(dataset.GetProperty("id").GetString()!, "starter"), Api.Json)!.AsObject();
        job["uniqueKey"] = "starter-model";
        var (first, _, _) = await QueueAsync(_queue, job);
        var (second, _, _) = await QueueAsync(_queue, job);
        Assert.Equal(first, second);
    }
}
