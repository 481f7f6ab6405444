using System.Net.Http.Json;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Endpoints;

/// <summary>The interpretability endpoints through HTTP on the tiny LSTM (one layer, 32 units); the computations themselves are tested in Core.</summary>
public class InterpretabilityApiTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Explain_names_both_methods_and_explains_the_top_prediction_by_default()
    {
        var body = await InferenceApiTests.Ok<ExplainResponse>(await client.PostJsonAsync("/api/models/tiny/explain", new { context = "the old farmer zyzzyva" }));
        var next = await InferenceApiTests.Ok<NextWordResponse>(await client.PostJsonAsync("/api/models/tiny/next-word", new { context = "the old farmer zyzzyva", topK = 1 }));

        Assert.Equal("tiny@1", body.Model);
        Assert.True(body.TargetWasPredicted);
        Assert.Equal(next.Words[0].Word, body.Target);
        Assert.Equal(next.Words[0].LogProbability, body.TargetLogProbability, 4);
        Assert.Equal(["occlusion", "gradientTimesInput"], body.Methods.Select(m => m.Name));
        Assert.Equal(["the", "old", "farmer", "zyzzyva"], body.Tokens.Select(t => t.Token));
        Assert.False(body.Tokens[3].InVocabulary);
        Assert.Equal(0, body.Tokens[3].Occlusion);                                   // already <unk>: occluding it changes nothing
        Assert.Contains(body.Tokens, t => Math.Abs(t.Occlusion) > 1e-4);

        var chosen = await InferenceApiTests.Ok<ExplainResponse>(await client.PostJsonAsync("/api/models/tiny/explain", new { context = "the old farmer", target = "the" }));
        Assert.Equal("the", chosen.Target);
        Assert.False(chosen.TargetWasPredicted);
    }

    [Fact]
    public async Task Activations_default_to_the_last_layers_most_varying_units()
    {
        var body = await InferenceApiTests.Ok<ActivationsResponse>(await client.PostJsonAsync("/api/models/tiny/activations", new { text = "the old farmer ran to the house ." }));
        Assert.Equal("lstm", body.CellType);
        Assert.Equal(0, body.Layer);
        Assert.Equal(32, body.HiddenSize);
        Assert.Equal(8, body.Tokens.Count);
        Assert.Equal(body.MostVarying.Take(8).Select(v => v.Unit), body.Units.Select(u => u.Unit));
        Assert.All(body.Units, u => { Assert.Equal(8, u.Hidden.Count); Assert.Equal(8, u.Cell!.Count); });
        Assert.Equal(["input", "forget", "output"], body.Gates.Single().Means.Keys);

        var chosen = await InferenceApiTests.Ok<ActivationsResponse>(await client.PostJsonAsync("/api/models/tiny/activations", new { text = "the cat", units = new[] { 3, 31 } }));
        Assert.Equal([3, 31], chosen.Units.Select(u => u.Unit));
    }

    [Fact]
    public async Task Neighbours_and_vocabulary_page_through_the_model()
    {
        var vocabulary = await InferenceApiTests.Ok<VocabularyResponse>(await client.GetAsync("/api/models/tiny/vocabulary?offset=0&limit=5"));
        Assert.Equal(5, vocabulary.Items.Count);
        Assert.Equal(["<unk>", "<eos>"], vocabulary.Items.Take(2).Select(i => i.Token));
        Assert.Equal([null, null, 1, 2, 3], vocabulary.Items.Select(i => i.FrequencyRank));
        Assert.True(vocabulary.CountsStored);                                       // the tiny model was trained with counts kept
        Assert.Equal([null, null], vocabulary.Items.Take(2).Select(i => i.Count));
        Assert.True(vocabulary.Items.Skip(2).All(i => i.Count > 0));
        Assert.True(vocabulary.Items.Skip(2).Zip(vocabulary.Items.Skip(3)).All(p => p.First.Count >= p.Second.Count));
        var last = await InferenceApiTests.Ok<VocabularyResponse>(await client.GetAsync($"/api/models/tiny/vocabulary?offset={vocabulary.Total - 1}"));
        Assert.Single(last.Items);

        var word = vocabulary.Items[2].Token;
        var body = await InferenceApiTests.Ok<NeighboursResponse>(await client.GetAsync($"/api/models/tiny/neighbours?word={Uri.EscapeDataString(word)}&k=4"));
        Assert.Equal(4, body.Neighbours.Count);
        Assert.DoesNotContain(body.Neighbours, n => n.Word == word);
        Assert.True(body.Neighbours.Zip(body.Neighbours.Skip(1)).All(p => p.First.Cosine >= p.Second.Cosine));
    }

    [Theory]
    [InlineData("/api/models/tiny/neighbours?word=zyzzyva", "word")]
    [InlineData("/api/models/tiny/neighbours", "word")]
    [InlineData("/api/models/tiny/neighbours?word=the&k=0", "k")]
    [InlineData("/api/models/tiny/neighbours?word=the&k=abc", "k")]
    [InlineData("/api/models/tiny/vocabulary?offset=-1", "offset")]
    [InlineData("/api/models/tiny/vocabulary?limit=10001", "limit")]
    public async Task Bad_queries_are_400s_naming_the_field(string url, string field) =>
        await Api.AssertProblemAsync(await client.GetAsync(url), 400, field);

    [Theory]
    [InlineData("explain", """{"context": ""}""", "context")]
    [InlineData("explain", """{"context": "the cat", "target": "two words"}""", "target")]
    [InlineData("explain", """{"context": "the cat", "target": "zyzzyva"}""", "target")]
    [InlineData("explain", """{"context": "zyzzyva"}""", "context")]
    [InlineData("activations", """{"text": "the cat", "layer": 1}""", "layer")]
    [InlineData("activations", """{"text": "the cat", "units": [32]}""", "units")]
    [InlineData("activations", """{"text": "the cat", "top": 0}""", "top")]
    [InlineData("activations", """{"text": "the cat", "units": "x"}""", "units")]
    public async Task Bad_bodies_are_400s_naming_the_field(string endpoint, string json, string field)
    {
        var response = await client.PostAsync($"/api/models/tiny/{endpoint}", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        await Api.AssertProblemAsync(response, 400, field);
    }

    [Fact]
    public async Task The_endpoints_are_in_the_openapi_document()
    {
        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "explain", "activations", "neighbours", "vocabulary" })
            Assert.True(paths.TryGetProperty($"/api/models/{{model}}/{path}", out _), path);
    }

    [Fact]
    public async Task The_page_is_served_at_the_root()
    {
        var response = await client.GetAsync("/");
        var html = await response.Content.ReadAsStringAsync();
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script type=\"module\" src=\"app.js\"></script>", html);
        var script = await client.GetAsync("/app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
    }
}
