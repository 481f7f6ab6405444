using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Api.Tests.Training;

/// <summary>A job that names <c>init</c> continues from a model version: checked when queued, recorded when published.</summary>
public sealed class WarmStartApiTests(ServiceFactory service) : IClassFixture<ServiceFactory>
{
    private readonly HttpClient _client = service.CreateClient();

    [Fact]
    public async Task A_warm_start_keeps_the_parents_settings_and_its_version_names_the_parent()
    {
        var first = (await Api.UploadTextAsync(_client, Api.Cycle(80, 1))).GetProperty("id").GetString()!;
        var parentJob = await QueueAsync(Api.Job(first, "warm-parent", epochs: 1));
        Assert.Equal("succeeded", (await Api.WaitAsync(_client, parentJob, Api.IsTerminal)).GetProperty("status").GetString());

        // New text with a word the parent never saw; the bare name is resolved to its version when queued.
        var second = (await Api.UploadTextAsync(_client, Api.Cycle(60, 5) + "w01 unseen w02\n")).GetProperty("id").GetString()!;
        var childJob = await QueueAsync(new
        {
            datasetId = second, modelName = "warm-child", init = "warm-parent",
            model = new { hiddenSize = 16 },  // agrees with the parent: allowed
            training = new { optimizer = "adam", learningRate = 0.01, epochs = 1, batchSize = 4, evalBatchSize = 2, bptt = 8 },
        });
        var queued = await Api.GetJobAsync(_client, childJob);
        var spec = queued.GetProperty("spec");
        Assert.Equal("warm-parent@1", spec.GetProperty("init").GetString());
        Assert.Equal("gru", spec.GetProperty("model").GetProperty("cellType").GetString()); // the parent's, not the default lstm

        var done = await Api.WaitAsync(_client, childJob, Api.IsTerminal);
        Assert.Equal("succeeded", done.GetProperty("status").GetString());

        // The record names its parent, in the API and in model.json; the vocabulary is the parent's.
        var info = await _client.GetFromJsonAsync<JsonElement>("/api/models/warm-child");
        var version = info.GetProperty("versions")[0];
        Assert.Equal("warm-parent@1", version.GetProperty("parent").GetString());
        Assert.True(version.GetProperty("metrics").GetProperty("initialValidPerplexity").GetDouble() > 1);
        var parentInfo = await _client.GetFromJsonAsync<JsonElement>("/api/models/warm-parent");
        Assert.Equal(JsonValueKind.Null, parentInfo.GetProperty("versions")[0].GetProperty("parent").ValueKind);
        var versions = service.Services.GetRequiredService<ModelVersionStore>();
        var child = ModelArtifacts.ReadManifest(Path.Combine(service.DataDirectory, (await versions.GetAsync("warm-child", 1))!.ArtifactPath));
        var parent = ModelArtifacts.ReadManifest(Path.Combine(service.DataDirectory, (await versions.GetAsync("warm-parent", 1))!.ArtifactPath));
        Assert.Equal("warm-parent@1", child.Parent);
        Assert.Equal(parent.VocabularySize, child.VocabularySize);
        Assert.Equal(parent.Architecture, child.Architecture);
    }

    [Theory]
    [InlineData("""{"init": "no-such-model"}""", "init")]
    [InlineData("""{"init": "warm-fixed@9"}""", "init")]
    [InlineData("""{"init": "Bad Name"}""", "init")]
    [InlineData("""{"init": "warm-fixed@1", "model": {"hiddenSize": 48}}""", "model.hiddenSize")]
    [InlineData("""{"init": "warm-fixed@1", "model": {"cellType": "lstm"}}""", "model.cellType")]
    [InlineData("""{"init": "warm-fixed@1", "tokenizer": {"kind": "character"}}""", "tokenizer.kind")]
    [InlineData("""{"init": "warm-fixed@1", "tokenizer": {"kind": "bpe", "vocabularySize": 500}}""", "tokenizer.vocabularySize")]
    [InlineData("""{"init": "warm-fixed@1", "model": {"adaptiveSoftmaxCutoffs": [4, 8]}}""", "model.adaptiveSoftmaxCutoffs")]
    [InlineData("""{"init": "warm-fixed@1", "preset": "fast", "model": {"hiddenSize": 256}}""", "model.hiddenSize")]
    public async Task An_unknown_parent_or_a_contradicting_field_is_a_400_naming_it(string fields, string field)
    {
        await EnsureFixedParentAsync();
        var dataset = (await Api.UploadTextAsync(_client, Api.Cycle(40, 3))).GetProperty("id").GetString()!;
        var body = JsonDocument.Parse(fields).RootElement.EnumerateObject()
            .ToDictionary(p => p.Name, p => (object)p.Value);
        body["datasetId"] = dataset;
        body["modelName"] = "warm-refused";
        var response = await _client.PostAsJsonAsync("/api/training-jobs", body);
        var problem = await Api.AssertProblemAsync(response, 400, field);
        if (field == "init" && !fields.Contains("Bad")) Assert.Contains("GET /api/models", problem.GetRawText());
        Assert.Equal(0, (await service.Services.GetRequiredService<JobStore>().ListAsync(null, 0, 500)).Items.Count(j => j.ModelName == "warm-refused"));
    }

    [Fact]
    public async Task Every_field_that_contradicts_the_parent_is_named_in_one_answer()
    {
        await EnsureFixedParentAsync();
        var dataset = (await Api.UploadTextAsync(_client, Api.Cycle(40, 3))).GetProperty("id").GetString()!;
        var response = await _client.PostAsJsonAsync("/api/training-jobs", new
        {
            datasetId = dataset, modelName = "warm-refused", init = "warm-fixed@1",
            tokenizer = new { kind = "bpe" }, model = new { hiddenSize = 48, adaptiveSoftmaxCutoffs = new[] { 4, 8 } },
        });
        var problem = await Api.AssertProblemAsync(response, 400, "tokenizer.kind");
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("model.hiddenSize", out _) && errors.TryGetProperty("model.adaptiveSoftmaxCutoffs", out _), errors.GetRawText());
    }

    [Fact]
    public async Task A_preset_gives_way_to_the_parents_architecture_and_keeps_its_training_recipe()
    {
        await EnsureFixedParentAsync();
        var dataset = (await Api.UploadTextAsync(_client, Api.Cycle(60, 4))).GetProperty("id").GetString()!;
        var id = await QueueAsync(new { datasetId = dataset, modelName = "warm-preset", init = "warm-fixed@1", preset = "fast" });
        var spec = (await Api.GetJobAsync(_client, id)).GetProperty("spec");
        await _client.PostAsync($"/api/training-jobs/{id}/cancel", null);   // only the spec is under test
        Assert.Equal("warm-fixed@1", spec.GetProperty("init").GetString());
        Assert.Equal(16, spec.GetProperty("model").GetProperty("hiddenSize").GetInt32());      // the parent's, not fast's 256
        Assert.Equal("gru", spec.GetProperty("model").GetProperty("cellType").GetString());
        Assert.Equal("adamW", spec.GetProperty("training").GetProperty("optimizer").GetString()); // fast's recipe
        Assert.Equal(32, spec.GetProperty("training").GetProperty("batchSize").GetInt32());
    }

    [Theory]
    [InlineData("""{"model.hiddenSize": [16, 32]}""", "warm-fixed@1", "points[1].model.hiddenSize")]
    [InlineData("""{"training.bptt": [4, 8]}""", "no-such-model@1", "points[0].init")]
    [InlineData("""{"init": ["warm-fixed@1", "no-such-model@1"]}""", "warm-fixed@1", "points[1].init")]
    public async Task A_sweep_checks_each_points_init_like_a_job(string grid, string init, string field)
    {
        await EnsureFixedParentAsync();
        var dataset = (await Api.UploadTextAsync(_client, Api.Cycle(40, 3))).GetProperty("id").GetString()!;
        var sweep = new JsonObject
        {
            ["name"] = "warm-sweep", ["datasetId"] = dataset, ["grid"] = JsonNode.Parse(grid),
            ["base"] = new JsonObject { ["init"] = init, ["training"] = new JsonObject { ["epochs"] = 1, ["batchSize"] = 4, ["bptt"] = 8 } },
        };
        var response = await _client.PostAsync("/api/sweeps", new StringContent(sweep.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        await Api.AssertProblemAsync(response, 400, field);
        Assert.DoesNotContain((await service.Services.GetRequiredService<JobStore>().ListAsync(null, 0, 500)).Items, j => j.ModelName.StartsWith("warm-sweep"));
    }

    private static readonly SemaphoreSlim FixedParentGate = new(1, 1);

    /// <summary>One parent trained once for all the cases of the theory.</summary>
    private async Task EnsureFixedParentAsync()
    {
        await FixedParentGate.WaitAsync();
        try
        {
            var versions = service.Services.GetRequiredService<ModelVersionStore>();
            if (await versions.GetAsync("warm-fixed", 1) is not null) return;
            var dataset = (await Api.UploadTextAsync(_client, Api.Cycle(40, 2))).GetProperty("id").GetString()!;
            var id = await QueueAsync(Api.Job(dataset, "warm-fixed", epochs: 1));
            Assert.Equal("succeeded", (await Api.WaitAsync(_client, id, Api.IsTerminal)).GetProperty("status").GetString());
        }
        finally { FixedParentGate.Release(); }
    }

    private async Task<string> QueueAsync(object job)
    {
        var response = await _client.PostAsJsonAsync("/api/training-jobs", job);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }
}
