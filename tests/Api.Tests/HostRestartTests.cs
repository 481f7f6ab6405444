using System.Net.Http.Json;
using System.Text.Json;

namespace RnnLmService.Api.Tests;

/// <summary>A host stopped mid-job and started again on the same data directory resumes the job from its checkpoint.</summary>
public sealed class HostRestartTests
{
    [Fact]
    public async Task A_restarted_host_resumes_the_job_from_its_checkpoint_and_finishes_it()
    {
        var data = Path.Combine(Path.GetTempPath(), "rnnlm-api-tests", Guid.NewGuid().ToString("N"));
        try
        {
            string id;
            await using (var first = ServiceFactory.On(data))
            {
                var client = first.CreateClient();
                var dataset = await Api.UploadTextAsync(client, Api.Cycle(800, 9));
                var response = await client.PostAsJsonAsync("/api/training-jobs", Api.Job(dataset.GetProperty("id").GetString()!, "restarted", epochs: 2, batchSize: 2));
                id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
                var running = await Api.WaitAsync(client, id, j => Api.IsTerminal(j) || j.GetProperty("progress").GetProperty("step").GetInt64() > 0);
                Assert.Equal("running", running.GetProperty("status").GetString());
            } // graceful stop: the worker checkpoints and releases the job

            await using var second = ServiceFactory.On(data);
            var again = second.CreateClient();
            var done = await Api.WaitAsync(again, id, Api.IsTerminal);
            Assert.Equal("succeeded", done.GetProperty("status").GetString());
            Assert.Equal(2, done.GetProperty("attempts").GetInt32());
            Assert.StartsWith("epoch ", done.GetProperty("resumedFrom").GetString());
            var events = await again.GetFromJsonAsync<JsonElement>($"/api/training-jobs/{id}/events");
            var resumed = Assert.Single(events.GetProperty("items").EnumerateArray(), e => e.GetProperty("type").GetString() == "resumed");
            Assert.True(resumed.GetProperty("data").GetProperty("step").GetInt64() > 0 || resumed.GetProperty("data").GetProperty("epoch").GetInt32() > 1);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
