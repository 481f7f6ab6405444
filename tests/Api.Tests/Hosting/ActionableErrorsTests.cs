using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Hosting;

/// <summary>Errors a person can act on: each names the field by its full path and says what to send instead.</summary>
public class ActionableErrorsTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    private static string Detail(JsonElement problem) => problem.GetProperty("detail").GetString()!;

    private static string Reason(JsonElement problem, string field) => problem.GetProperty("errors").GetProperty(field)[0].GetString()!;

    private async Task<string> DatasetAsync(int lines = 40) =>
        (await Api.UploadTextAsync(client, Api.Cycle(lines, 7))).GetProperty("id").GetString()!;

    private Task<HttpResponseMessage> PostAsync(string url, string json, string mediaType = "application/json") =>
        client.PostAsync(url, new StringContent(json, Encoding.UTF8, mediaType));

    [Theory]
    [InlineData("/api/models/tiny/next-word")]
    [InlineData("/api/training-jobs")]
    public async Task A_415_says_to_send_json_with_its_content_type(string url)
    {
        var problem = await Api.AssertProblemAsync(await PostAsync(url, "context=the cat", "text/plain"), 415);
        Assert.Equal("unsupported_media_type", problem.GetProperty("code").GetString());
        Assert.Contains("Content-Type: application/json", Detail(problem));
        Assert.Contains("text/plain", Detail(problem));
    }

    [Fact]
    public async Task Type_errors_are_worded_by_the_api_with_path_type_and_range_and_all_come_at_once()
    {
        var response = await PostAsync("/api/models/tiny/generate", """{"prompt": 5, "maxTokens": "ten", "n": 1e12, "stop": "."}""");
        var problem = await Api.AssertProblemAsync(response, 400, "prompt");
        Assert.Equal(["maxTokens", "n", "prompt", "stop"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("prompt must be a string (was 5).", Reason(problem, "prompt"));
        Assert.Contains("a whole number from -2147483648 to 2147483647", Reason(problem, "maxTokens"));
        Assert.Contains("\"ten\"", Reason(problem, "maxTokens"));
        Assert.Contains("an array", Reason(problem, "stop"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("System.", text);
        Assert.DoesNotContain("could not be converted", text);
    }

    [Fact]
    public async Task Broken_json_says_where_it_breaks()
    {
        var problem = await Api.AssertProblemAsync(await PostAsync("/api/models/tiny/next-word", "{\n  \"context\": \"the cat\"\n  \"topK\": 3}"), 400, "body");
        Assert.Equal("invalid_json", problem.GetProperty("code").GetString());
        Assert.Contains("line 3", Detail(problem));
        Assert.DoesNotContain("'\"' is invalid", Detail(problem));
    }

    [Theory]
    [InlineData("""{"context": "the cat", "topk": 3}""", "topk", "did you mean topK?")]
    [InlineData("""{"Context": "the cat"}""", "Context", "did you mean context?")]
    [InlineData("""{"context": "the cat", "temprature": 3}""", "temprature", "the fields here are context, topK, candidates, keepAlive")]
    public async Task Unknown_or_miscased_fields_are_named_with_the_closest_known_name(string body, string field, string hint)
    {
        var problem = await Api.AssertProblemAsync(await PostAsync("/api/models/tiny/next-word", body), 400, field);
        Assert.Contains(hint, Reason(problem, field));
    }

    [Fact]
    public async Task A_misspelt_dataset_field_is_named_too()
    {
        var problem = await Api.AssertProblemAsync(await client.PostAsJsonAsync("/api/datasets", new { name = "x", txt = "a b c\n" }), 400, "txt");
        Assert.Contains("did you mean text?", Reason(problem, "txt"));
    }

    [Fact]
    public async Task A_misspelt_nested_job_field_is_named_by_its_full_path()
    {
        var dataset = await DatasetAsync();
        var response = await client.PostAsJsonAsync("/api/training-jobs", new { datasetId = dataset, modelName = "typo", training = new { epoch = 2 } });
        var problem = await Api.AssertProblemAsync(response, 400, "training.epoch");
        Assert.Equal("training.epoch is not a known field; did you mean training.epochs? (Field names are case-sensitive.)", Reason(problem, "training.epoch"));
    }

    [Fact]
    public async Task All_of_a_jobs_validation_errors_come_back_in_one_problem()
    {
        var response = await client.PostAsJsonAsync("/api/training-jobs", new
        {
            modelName = "Bad Name",
            model = new { hiddenSize = 0 },
            training = new { epochs = 0, optimizer = "lion" },
        });
        var problem = await Api.AssertProblemAsync(response, 400);
        var fields = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToList();
        // A JSON-level error (an unknown optimizer) does not hide the range errors of the other fields.
        Assert.Equal(["datasetId", "model.hiddenSize", "modelName", "training.epochs", "training.optimizer"], fields);
        Assert.Contains("\"sgd\", \"adam\", \"adamW\", \"ntAsgd\"", Reason(problem, "training.optimizer"));
        Assert.Contains("GET /api/datasets", Reason(problem, "datasetId"));
        Assert.DoesNotContain((await client.GetFromJsonAsync<JsonElement>("/api/training-jobs")).GetProperty("items").EnumerateArray(),
            j => j.GetProperty("modelName").GetString() == "Bad Name");
    }

    [Fact]
    public async Task A_missing_dataset_points_to_the_dataset_list()
    {
        var response = await client.PostAsJsonAsync("/api/training-jobs", new { datasetId = "0123456789abcdef", modelName = "orphan" });
        var problem = await Api.AssertProblemAsync(response, 400, "datasetId");
        Assert.Contains("GET /api/datasets", Reason(problem, "datasetId"));
    }

    [Fact]
    public async Task A_model_a_queued_job_will_produce_says_which_job_instead_of_a_bare_404()
    {
        var dataset = await DatasetAsync();
        var queued = await client.PostAsJsonAsync("/api/training-jobs", Api.Job(dataset, "coming-soon"));
        var jobId = (await queued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var response = await client.PostAsJsonAsync("/api/models/coming-soon/next-word", new { context = "the cat" });
        var problem = await Api.AssertProblemAsync(response, 503, "model");
        Assert.Equal("model_not_ready", problem.GetProperty("code").GetString());
        Assert.Equal(jobId, problem.GetProperty("jobId").GetString());
        Assert.Equal("queued", problem.GetProperty("jobStatus").GetString());
        Assert.Contains($"GET /api/training-jobs/{jobId}", Detail(problem));
        Assert.NotNull(response.Headers.RetryAfter);

        (await client.PostAsync($"/api/training-jobs/{jobId}/cancel", null)).EnsureSuccessStatusCode();
        var gone = await Api.AssertProblemAsync(await client.PostAsJsonAsync("/api/models/coming-soon/next-word", new { context = "the cat" }), 404, "model");
        Assert.Equal("model_not_found", gone.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("/api/training-jobs?limit=abc", "limit", "whole number")]
    [InlineData("/api/training-jobs?offset=1.5", "offset", "whole number")]
    [InlineData("/api/datasets?limit=ten", "limit", "whole number")]
    [InlineData("/api/training-jobs?status=done", "status", "queued, running")]
    public async Task Query_parameter_errors_are_named_by_the_parameter(string url, string parameter, string hint)
    {
        var problem = await Api.AssertProblemAsync(await client.GetAsync(url), 400, parameter);
        Assert.Contains(hint, Reason(problem, parameter));
    }

    [Fact]
    public async Task Every_problem_has_the_same_fields()
    {
        var responses = new[]
        {
            await client.GetAsync("/api/nothing-here"),                                                         // routing 404
            await PostAsync("/api/models/tiny/next-word", "{}", "text/plain"),                                   // 415
            await PostAsync("/api/models/tiny/next-word", """{"context": ""}"""),                               // validation 400
            await PostAsync("/api/models/tiny/next-word", """{"contxt": "the"}"""),                             // unknown field 400
            await client.GetAsync("/api/training-jobs?limit=x"),                                                 // query 400
            await client.GetAsync("/api/models/nope"),                                                           // 404
            await client.DeleteAsync("/api/models"),                                                             // 405
        };
        foreach (var response in responses)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(body).RootElement;
            foreach (var member in new[] { "type", "title", "status", "detail", "instance", "code", "traceId", "correlationId" })
                Assert.True(problem.TryGetProperty(member, out var value) && value.ValueKind != JsonValueKind.Null, $"no {member} in {body}");
            Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());
        }
    }

    [Fact]
    public async Task The_end_of_line_token_is_no_empty_token_and_the_finish_reason_says_so()
    {
        // Greedy generation of the tiny model, allowed to end at a line end: every returned token carries text.
        var body = await InferenceApiTests_Ok(await client.PostAsJsonAsync("/api/models/tiny/generate",
            new { prompt = "the cat", maxTokens = 64, temperature = 0, n = 1 }));
        var completion = body.GetProperty("completions")[0];
        var tokens = completion.GetProperty("tokens").EnumerateArray().ToList();
        Assert.All(tokens, t => Assert.NotEqual("", t.GetProperty("text").GetString()));
        var finish = completion.GetProperty("finishReason").GetString();
        Assert.Contains(finish, new[] { "length", "end_of_line" });
        if (finish == "end_of_line") Assert.True(tokens.Count < 64);
        else Assert.Equal(64, tokens.Count);
        Assert.Equal(body.GetProperty("usage").GetProperty("completionTokens").GetInt32(), tokens.Count);
    }

    private static async Task<JsonElement> InferenceApiTests_Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement;
    }
}

/// <summary>A job memory budget of 200 MB, so a large batchSize is refused by the memory estimate.</summary>
public class SmallJobBudgetFactory : TinyModelFactory
{
    protected override IReadOnlyDictionary<string, string> Settings =>
        new Dictionary<string, string>(base.Settings) { ["RnnLm:Worker:MaxJobMemoryBytes"] = "200000000", ["RnnLm:Serving:MaxRequestBodyBytes"] = "1000000" };
}

public class BatchSizeRemedyTests(SmallJobBudgetFactory factory) : IClassFixture<SmallJobBudgetFactory>
{
    [Fact]
    public async Task A_batch_size_too_large_for_memory_names_the_largest_that_fits()
    {
        using var client = factory.CreateClient();
        var dataset = (await Api.UploadTextAsync(client, Api.Cycle(2000, 3))).GetProperty("id").GetString()!;

        var problem = await Api.AssertProblemAsync(await client.PostAsJsonAsync("/api/training-jobs", Api.Job(dataset, "wide", batchSize: 4096)), 400, "training.batchSize");
        var reason = problem.GetProperty("errors").GetProperty("training.batchSize").EnumerateArray().Select(r => r.GetString()!).Single(r => r.Contains("MaxJobMemoryBytes"));
        var match = System.Text.RegularExpressions.Regex.Match(reason, @"training\.batchSize (\d+) or less fits \(was 4096\)");
        Assert.True(match.Success, reason);
        var fitting = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(fitting, 2, 4095);

        // The suggestion is exact: it is queued, one more is refused for memory.
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await client.PostAsJsonAsync("/api/training-jobs", Api.Job(dataset, "fits", batchSize: fitting))).StatusCode);
        var over = await Api.AssertProblemAsync(await client.PostAsJsonAsync("/api/training-jobs", Api.Job(dataset, "over", batchSize: fitting + 1)), 400, "training.batchSize");
        Assert.Contains("MaxJobMemoryBytes", over.GetProperty("errors").GetProperty("training.batchSize")[0].GetString());
    }
}

/// <summary>The starter model on (its job stays queued: no worker here).</summary>
public class StarterQueuedFactory : ApiFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["RnnLm:StarterModel"] = "true" };
}

public class StarterModelErrorsTests(StarterQueuedFactory factory) : IClassFixture<StarterQueuedFactory>
{
    [Fact]
    public async Task The_starter_is_503_while_its_job_is_queued_and_404_once_deleted_with_no_job_left()
    {
        using var client = factory.CreateClient();
        var jobs = (await client.GetFromJsonAsync<JsonElement>("/api/training-jobs")).GetProperty("items").EnumerateArray().ToList();
        var starterJob = Assert.Single(jobs, j => j.GetProperty("modelName").GetString() == "starter").GetProperty("id").GetString()!;

        var pending = await Api.AssertProblemAsync(await client.PutAsync("/api/models/starter/default", null), 503, "model");
        Assert.Equal(starterJob, pending.GetProperty("jobId").GetString());
        var completion = await client.PostAsJsonAsync("/v1/completions", new { prompt = "the", max_tokens = 2 });
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, completion.StatusCode);
        Assert.Contains(starterJob, await completion.Content.ReadAsStringAsync());

        (await client.PostAsync($"/api/training-jobs/{starterJob}/cancel", null)).EnsureSuccessStatusCode();
        await factory.AddModelAsync("starter", promote: true);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await client.DeleteAsync("/api/models/starter")).StatusCode);

        var gone = await Api.AssertProblemAsync(await client.PutAsync("/api/models/starter/default", null), 404, "model");
        Assert.Equal("model_not_found", gone.GetProperty("code").GetString());
        Assert.DoesNotContain("being trained", gone.GetProperty("detail").GetString());
    }
}
