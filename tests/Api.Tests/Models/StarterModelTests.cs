using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Models;
using RnnLmService.Api.Tests.Endpoints;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Api.Tests.Models;

public class StarterFactory : ApiFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["RnnLm:StarterModel"] = "true",
        ["RnnLm:Worker:Enabled"] = "true",
        ["RnnLm:Worker:PollInterval"] = "00:00:00.200",
    };
}

public class StarterModelTests(StarterFactory factory) : IClassFixture<StarterFactory>
{
    [Fact]
    public async Task A_first_start_trains_a_starter_model_once_and_serves_it_when_ready()
    {
        using var client = factory.CreateClient();
        var early = await client.PostJsonAsync("/api/models/starter/next-word", new { context = "the cat" });
        Assert.True(early.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.OK);
        if (early.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            Assert.NotNull(early.Headers.RetryAfter);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(300);
        while ((await client.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the starter model was not ready within 300 s (only a hang catcher: a busy machine trains it slowly)");
            await Task.Delay(500);
        }

        var next = await InferenceApiTests.Ok<NextWordResponse>(await client.PostJsonAsync("/api/models/starter/next-word", new { context = "once upon a time , the" }));
        Assert.Equal("starter@1", next.Model);
        var completion = await client.PostJsonAsync("/v1/completions", new { prompt = "the old cat", max_tokens = 5 });
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);

        var jobs = await factory.Services.GetRequiredService<JobStore>().ListAsync();
        var job = Assert.Single(jobs.Items);
        Assert.Equal(StarterModelSeeder.UniqueKey, job.UniqueKey);

        // Another start (or replica) finds the store no longer empty and queues nothing.
        var seeder = factory.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<StarterModelSeeder>().Single();
        await seeder.StartAsync(CancellationToken.None);
        Assert.Single((await factory.Services.GetRequiredService<JobStore>().ListAsync()).Items);
    }
}
