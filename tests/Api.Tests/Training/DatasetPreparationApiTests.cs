using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Api.Tests.Training;

/// <summary>
/// Datasets prepared into token files by the jobs that need them, through the API with its in-process worker and real
/// training processes: a process killed during the preparation continues it on the retry, a second job with other
/// vocabulary limits shares the files, and the state (ready, failed with its reason) shows in GET /api/datasets/{id}.
/// </summary>
public sealed class DatasetPreparationApiTests(DatasetPreparationApiTests.Factory factory) : IClassFixture<DatasetPreparationApiTests.Factory>
{
    public sealed class Factory : ServiceFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("RnnLm:Worker:CrashBackoff", "00:00:00.100");
            builder.UseSetting("RnnLm:Worker:MaxCrashes", "2");
            builder.UseSetting("RnnLm:Worker:ChildEnvironment:RNNLM_CHILD_FAULT", "kill-after-counting:killed");
        }
    }

    private readonly HttpClient _client = factory.CreateClient();

    private async Task<string> QueueAsync(object job)
    {
        var response = await _client.PostAsJsonAsync("/api/training-jobs", job);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private async Task<JsonElement> DatasetAsync(string id) => await _client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");

    [Fact]
    public async Task A_preparation_killed_after_counting_continues_on_the_retry_and_is_shared_by_the_next_job()
    {
        var dataset = (await Api.UploadTextAsync(_client, Api.Cycle(120, 3))).GetProperty("id").GetString()!;
        Assert.Empty((await DatasetAsync(dataset)).GetProperty("preparations").EnumerateArray());

        // Killed (SIGKILL) right after its counting pass; the retry would be killed again if it counted again.
        var killed = await Api.WaitAsync(_client, await QueueAsync(Api.Job(dataset, "killed")), Api.IsTerminal);
        Assert.Equal("succeeded", killed.GetProperty("status").GetString());
        var record = (await factory.Services.GetRequiredService<JobStore>().GetAsync(killed.GetProperty("id").GetString()!))!;
        Assert.Equal(2, record.Attempts);

        var prepared = Assert.Single((await DatasetAsync(dataset)).GetProperty("preparations").EnumerateArray());
        Assert.Equal("ready", prepared.GetProperty("status").GetString());
        Assert.Equal("word", prepared.GetProperty("kind").GetString());
        var trainTokens = prepared.GetProperty("tokens").GetProperty("train").GetInt64();
        Assert.True(trainTokens > 100, $"{trainTokens} train tokens");
        var preparedAt = prepared.GetProperty("preparedAt").GetDateTime();

        var other = new { datasetId = dataset, modelName = "other", tokenizer = new { kind = "word", maxVocabularySize = 5 },
            model = new { cellType = "gru", embeddingSize = 8, hiddenSize = 8, layers = 1 },
            training = new { optimizer = "adam", learningRate = 0.02, epochs = 1, batchSize = 4, evalBatchSize = 2, bptt = 8 } };
        var second = await Api.WaitAsync(_client, await QueueAsync(other), Api.IsTerminal);
        Assert.Equal("succeeded", second.GetProperty("status").GetString());
        var shared = Assert.Single((await DatasetAsync(dataset)).GetProperty("preparations").EnumerateArray());
        Assert.Equal(preparedAt, shared.GetProperty("preparedAt").GetDateTime());                   // not prepared again
        var version = (await factory.Services.GetRequiredService<ModelVersionStore>().GetByJobAsync(second.GetProperty("id").GetString()!))!;
        var manifest = ModelArtifacts.ReadManifest(Path.Combine(factory.DataDirectory, version.ArtifactPath));
        Assert.Equal(5, manifest.VocabularySize);                                                      // the cut of the shared ranking

        // BPE trains from token files too: its own preparation (merges learnt from the train split), keyed by its size.
        var bpe = new { datasetId = dataset, modelName = "bpe", tokenizer = new { kind = "bpe", vocabularySize = 270 },
            model = new { cellType = "gru", embeddingSize = 8, hiddenSize = 8, layers = 1 },
            training = new { optimizer = "adam", learningRate = 0.02, epochs = 1, batchSize = 4, evalBatchSize = 2, bptt = 8 } };
        var third = await Api.WaitAsync(_client, await QueueAsync(bpe), Api.IsTerminal);
        Assert.Equal("succeeded", third.GetProperty("status").GetString());
        var both = (await DatasetAsync(dataset)).GetProperty("preparations").EnumerateArray().ToList();
        Assert.Equal(2, both.Count);
        var bpePrepared = Assert.Single(both, p => p.GetProperty("kind").GetString() == "bpe");
        Assert.Equal("ready", bpePrepared.GetProperty("status").GetString());
        Assert.Equal(270, bpePrepared.GetProperty("vocabularySize").GetInt32());
        Assert.True(bpePrepared.GetProperty("tokens").GetProperty("testCharacters").GetInt64() > 0);
        var bpeVersion = (await factory.Services.GetRequiredService<ModelVersionStore>().GetByJobAsync(third.GetProperty("id").GetString()!))!;
        var bpeManifest = ModelArtifacts.ReadManifest(Path.Combine(factory.DataDirectory, bpeVersion.ArtifactPath));
        Assert.InRange(bpeManifest.VocabularySize, 259, 270);                                          // 2 specials, 256 bytes, the merges
        Assert.NotNull(bpeManifest.MergesFile);
        Assert.True(bpeManifest.Metrics.TestBitsPerCharacter > 0);
    }

    [Fact]
    public async Task A_failed_preparation_fails_the_job_and_shows_its_reason_without_server_paths()
    {
        var dataset = (await Api.UploadTextAsync(_client, Api.Cycle(60, 4))).GetProperty("id").GetString()!;
        // The disk's copy went bad after the upload checked it (bit rot, a hand edit): the preparation must say so.
        File.WriteAllBytes(Path.Combine(factory.DataDirectory, "datasets", dataset, "train.txt"), [(byte)'a', 0xC3, 0x28, (byte)'\n']);

        var job = await Api.WaitAsync(_client, await QueueAsync(Api.Job(dataset, "rotten")), Api.IsTerminal);
        Assert.Equal("failed", job.GetProperty("status").GetString());
        Assert.Contains("UTF-8", job.GetProperty("failureReason").GetString());

        var failed = Assert.Single((await DatasetAsync(dataset)).GetProperty("preparations").EnumerateArray());
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        var reason = failed.GetProperty("reason").GetString()!;
        Assert.Contains("UTF-8", reason);
        Assert.DoesNotContain(factory.DataDirectory, reason);
        var listed = await _client.GetFromJsonAsync<JsonElement>("/api/datasets");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), d => d.GetProperty("id").GetString() == dataset
            && d.GetProperty("preparations")[0].GetProperty("status").GetString() == "failed");
    }
}
