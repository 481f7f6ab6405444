using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Api.Tests.Training;

/// <summary>
/// The API with its in-process worker and a model loaded for serving: jobs train in their own processes with the
/// configured thread count, a job whose process is killed at every start fails after MaxCrashes while next-word keeps
/// answering, and a job over the memory budget is refused when queued.
/// </summary>
public sealed class TrainingProcessApiTests(TrainingProcessApiTests.Factory factory) : IClassFixture<TrainingProcessApiTests.Factory>
{
    public sealed class Factory : TinyModelFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(base.Settings)
        {
            ["RnnLm:Worker:Enabled"] = "true",
            ["RnnLm:Serving:MaxRequestBodyBytes"] = "1048576",
            ["RnnLm:Worker:Concurrency"] = "2",
            ["RnnLm:Worker:TorchThreads"] = "2",
            ["RnnLm:Worker:PollInterval"] = "00:00:00.050",
            ["RnnLm:Worker:HeartbeatInterval"] = "00:00:00.200",
            ["RnnLm:Worker:MaxCrashes"] = "2",
            ["RnnLm:Worker:CrashBackoff"] = "00:00:00.100",
            ["RnnLm:Worker:MaxJobMemoryBytes"] = "300000000",
            ["RnnLm:Worker:ChildEnvironment:RNNLM_CHILD_FAULT"] = "kill-at-start:doomed",
        };
    }

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task A_job_over_the_memory_budget_is_a_400_naming_the_field()
    {
        var dataset = await Api.UploadTextAsync(_client, Api.Cycle(40, 1));
        var response = await _client.PostAsJsonAsync("/api/training-jobs", new
        {
            datasetId = dataset.GetProperty("id").GetString(),
            modelName = "huge",
            model = new { hiddenSize = 8192, layers = 16 },
        });
        var problem = await Api.AssertProblemAsync(response, 400, "model.layers");
        var reason = problem.GetProperty("errors").GetProperty("model.layers")[0].GetString()!;
        Assert.Contains("MaxJobMemoryBytes", reason);
        Assert.DoesNotContain((await factory.Services.GetRequiredService<JobStore>().ListAsync()).Items, j => j.ModelName == "huge");
    }

    [Fact]
    public async Task A_process_killed_at_every_start_fails_the_job_after_MaxCrashes_while_serving_answers_and_a_sound_job_trains_with_the_configured_threads()
    {
        var dataset = (await Api.UploadTextAsync(_client, Api.Cycle(80, 2))).GetProperty("id").GetString()!;
        var doomed = await QueueAsync(Api.Job(dataset, "doomed"));
        var sound = await QueueAsync(Api.Job(dataset, "sound", epochs: 2));

        var answered = 0;
        JsonElement job;
        while (!Api.IsTerminal(job = await Api.GetJobAsync(_client, doomed)))
        {
            var next = await _client.PostAsJsonAsync("/api/models/tiny/next-word", new { context = "the cat" });
            Assert.True(next.IsSuccessStatusCode, await next.Content.ReadAsStringAsync());
            answered++;
        }
        Assert.True(answered > 0);
        Assert.Equal("failed", job.GetProperty("status").GetString());
        var reason = job.GetProperty("failureReason").GetString()!;
        Assert.Contains("killed by signal 9", reason);
        Assert.Contains("out of memory?", reason);
        Assert.DoesNotContain(factory.DataDirectory, reason);
        var record = (await factory.Services.GetRequiredService<JobStore>().GetAsync(doomed))!;
        Assert.Equal(2, record.Attempts);

        var done = await Api.WaitAsync(_client, sound, Api.IsTerminal);
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        var events = await factory.Services.GetRequiredService<JobStore>().EventsAfterAsync(sound);
        var started = events.Where(e => e.Type == JobEventTypes.Process).Select(e => JsonDocument.Parse(e.PayloadJson).RootElement)
            .Single(e => e.GetProperty("event").GetString() == "started");
        Assert.Equal(2, started.GetProperty("torchThreads").GetInt32());
        Assert.NotEqual(Environment.ProcessId, started.GetProperty("pid").GetInt32()); // not the API's process
    }

    private async Task<string> QueueAsync(object job)
    {
        var response = await _client.PostAsJsonAsync("/api/training-jobs", job);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }
}
