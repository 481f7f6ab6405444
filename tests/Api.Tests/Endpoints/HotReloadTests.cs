using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Endpoints;

public class HotReloadTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    [Fact]
    public async Task A_version_written_to_the_store_while_running_becomes_addressable_without_restart()
    {
        using var client = factory.CreateClient();
        await InferenceApiTests.AssertProblem(await client.PostJsonAsync("/api/models/fresh/next-word", new { context = "the cat" }), System.Net.HttpStatusCode.NotFound, "model");

        await factory.AddModelAsync("fresh");
        var first = await InferenceApiTests.Ok<NextWordResponse>(await client.PostJsonAsync("/api/models/fresh/next-word", new { context = "the cat" }));
        Assert.Equal("fresh@1", first.Model);

        // Another process (here: the store directly) writes version 2; the bare name moves to it after a poll.
        await factory.AddModelAsync("fresh");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string model;
        do
        {
            await Task.Delay(100);
            model = (await InferenceApiTests.Ok<NextWordResponse>(await client.PostJsonAsync("/api/models/fresh/next-word", new { context = "the cat" }))).Model;
        }
        while (model != "fresh@2" && DateTime.UtcNow < deadline);
        Assert.Equal("fresh@2", model);

        var listed = await InferenceApiTests.Ok<ModelInfo>(await client.GetAsync("/api/models/fresh"));
        Assert.Equal([2, 1], listed.Versions.Select(v => v.Version));
    }
}
