using System.Net;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Endpoints;

public class ModelsApiTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task List_and_get_show_versions_metrics_default_and_loaded_state()
    {
        var list = await InferenceApiTests.Ok<ModelListResponse>(await client.GetAsync("/api/models"));
        Assert.Equal("tiny", list.DefaultModel);
        var tiny = Assert.Single(list.Models, m => m.Name == "tiny");
        Assert.True(tiny.IsDefault);
        var v1 = Assert.Single(tiny.Versions, v => v.Version == 1);
        Assert.Equal("tiny@1", v1.Id);
        Assert.True(v1.Promoted);
        Assert.True(v1.Loaded);
        Assert.Equal(42.0, v1.Metrics!.Value.GetProperty("testPerplexity").GetDouble());

        var one = await InferenceApiTests.Ok<ModelInfo>(await client.GetAsync("/api/models/tiny"));
        Assert.Equal(1, one.ResolvesTo);
        await InferenceApiTests.AssertProblem(await client.GetAsync("/api/models/nope"), HttpStatusCode.NotFound, "name");
    }

    [Fact]
    public async Task Load_unload_and_delete_a_version()
    {
        await factory.AddModelAsync("extra");
        var loaded = await InferenceApiTests.Ok<ModelVersionInfo>(await client.PostAsync("/api/models/extra@1/load", null));
        Assert.True(loaded.Loaded);

        var unloaded = await InferenceApiTests.Ok<ModelVersionInfo>(await client.PostAsync("/api/models/extra/unload", null));
        Assert.False(unloaded.Loaded);

        // A request loads it again on demand.
        (await client.PostJsonAsync("/api/models/extra/next-word", new { context = "the cat" })).EnsureSuccessStatusCode();

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/models/extra@1")).StatusCode);
        Assert.False(Directory.Exists(Path.Combine(factory.DataDirectory, "models", "extra", "1")));
        await InferenceApiTests.AssertProblem(await client.PostJsonAsync("/api/models/extra/next-word", new { context = "the cat" }), HttpStatusCode.NotFound, "model");
        await InferenceApiTests.AssertProblem(await client.DeleteAsync("/api/models/extra"), HttpStatusCode.NotFound, "model");
        await InferenceApiTests.AssertProblem(await client.PostAsync("/api/models/nope/load", null), HttpStatusCode.NotFound, "model");
    }

    [Fact]
    public async Task Setting_the_default_model_changes_what_requests_without_a_model_use()
    {
        await factory.AddModelAsync("other");
        try
        {
            var set = await InferenceApiTests.Ok<DefaultModelResponse>(await client.PutAsync("/api/models/other/default", null));
            Assert.Equal("other@1", set.ResolvesTo);
            var completion = await client.PostAsync("/v1/completions", new StringContent("""{"prompt":"the cat","max_tokens":1}""", System.Text.Encoding.UTF8, "application/json"));
            using var doc = JsonDocument.Parse(await completion.Content.ReadAsStringAsync());
            Assert.Equal("other@1", doc.RootElement.GetProperty("model").GetString());
        }
        finally
        {
            (await client.PutAsync("/api/models/tiny@1/default", null)).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task A_malformed_model_name_is_400()
    {
        await InferenceApiTests.AssertProblem(await client.PostAsync("/api/models/tiny@x/load", null), HttpStatusCode.BadRequest, "model");
    }
}
