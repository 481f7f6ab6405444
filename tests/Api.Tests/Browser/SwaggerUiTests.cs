using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace RnnLmService.Api.Tests.Browser;

/// <summary>
/// Swagger UI at <c>/swagger</c> in headless Chromium against a real service with keys: "Authorize" with a train key,
/// then "Try it out" on <c>POST /api/training-jobs</c> with Swagger UI's own example body, only its dataset id replaced
/// by one uploaded through the API, queues a job with the example's fields, which the API then returns. Without the
/// key the same request would be a 401, so the job proves the key travelled too.
/// </summary>
public sealed class SwaggerUiTests(SwaggerUiServer server) : IClassFixture<SwaggerUiServer>
{
    [Fact]
    public async Task Authorize_and_Try_it_out_with_the_example_body_queue_a_job()
    {
        using var api = new HttpClient { BaseAddress = server.Address };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", SwaggerUiServer.TrainKey);
        var upload = await api.PostAsJsonAsync("/api/datasets", new { name = "swagger-ui", text = string.Concat(Enumerable.Repeat("the cat sat on the mat .\n", 60)) });
        Assert.True(upload.IsSuccessStatusCode, await upload.Content.ReadAsStringAsync());
        var datasetId = JsonDocument.Parse(await upload.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var document = JsonNode.Parse(await api.GetStringAsync("/swagger/v1/swagger.json"))!;
        var example = document["paths"]!["/api/training-jobs"]!["post"]!["requestBody"]!["content"]!["application/json"]!["example"]!;

        var errors = new List<string>();
        var page = await server.NewPageAsync(errors);
        await page.GotoAsync("/swagger/index.html");

        // Authorize: the bearer scheme's value, then Authorize and Close in the dialog.
        await page.Locator("button.authorize").First.ClickAsync();
        var dialog = page.Locator(".auth-container").Filter(new() { HasText = "bearer" });
        await dialog.Locator("input").First.FillAsync(SwaggerUiServer.TrainKey);
        await dialog.Locator("button.authorize").ClickAsync();
        await Expect(dialog.Locator("h6")).ToHaveTextAsync("Authorized"); // and the value is masked, with a Logout button
        await page.Locator(".btn-done, button.close-modal").First.ClickAsync();

        // Try it out on POST /api/training-jobs: Swagger UI fills in the document's example; a user replaces the dataset id.
        var operation = page.Locator(".opblock-post").Filter(new() { Has = page.Locator(".opblock-summary-path[data-path='/api/training-jobs']") });
        await operation.Locator(".opblock-summary").ClickAsync();
        await operation.Locator("button.try-out__btn").ClickAsync();
        var body = operation.Locator("textarea.body-param__text");
        var filled = JsonNode.Parse(await body.InputValueAsync())!;
        Assert.True(JsonNode.DeepEquals(example, filled), $"Try it out shows {filled.ToJsonString()}, not the document's example {example.ToJsonString()}");
        filled["datasetId"] = datasetId;
        await body.FillAsync(filled.ToJsonString()); // real input events: Swagger UI's React state takes the new body

        // Execute sends the request with the key and shows the answer in the live response (its body row, not the header row).
        var response = await page.RunAndWaitForResponseAsync(
            () => operation.Locator("button.execute").ClickAsync(),
            r => r.Request.Method == "POST" && new Uri(r.Url).AbsolutePath == "/api/training-jobs");
        Assert.Equal(202, response.Status);
        Assert.Equal($"Bearer {SwaggerUiServer.TrainKey}", await response.Request.HeaderValueAsync("authorization"));
        await Expect(operation.Locator(".live-responses-table tbody .response-col_status").First).ToHaveTextAsync("202");
        var jobId = JsonDocument.Parse(await response.TextAsync()).RootElement.GetProperty("id").GetString()!;
        await page.ScreenshotAsync(new() { Path = Path.Combine(server.Screenshots, "swagger-ui-try-it-out.png"), FullPage = false });
        await page.CloseAsync();

        // The job exists, queued on our dataset with every field of the example, as the API returns it.
        using var job = JsonDocument.Parse(await api.GetStringAsync($"/api/training-jobs/{jobId}"));
        var j = job.RootElement;
        Assert.Equal("queued", j.GetProperty("status").GetString());
        Assert.Equal(datasetId, j.GetProperty("datasetId").GetString());
        Assert.Equal((string)example["modelName"]!, j.GetProperty("modelName").GetString());
        Assert.Equal((bool)example["promote"]!, j.GetProperty("promote").GetBoolean());
        foreach (var section in new[] { "model", "training" })
            foreach (var (field, value) in example[section]!.AsObject())
            {
                var stored = j.GetProperty("spec").GetProperty(section).GetProperty(field);
                if (value!.GetValueKind() == JsonValueKind.Number) Assert.Equal((double)value, stored.GetDouble());
                else Assert.Equal((string)value!, stored.GetString());
            }
        Assert.True(errors.Count == 0, "browser errors:\n" + string.Join('\n', errors));
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}

/// <summary>The browser server with keys configured (so Swagger UI must send one), without the starter model.</summary>
public sealed class SwaggerUiServer : PlaygroundServer
{
    public const string TrainKey = "swagger-ui-train-key-0123456789";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["RnnLm:StarterModel"] = "false",
        ["RnnLm:Worker:Enabled"] = "false",   // the job stays queued: the test asserts that it exists, not that it trains
        ["RnnLm:Auth:Keys:0:Name"] = "swagger-ui",
        ["RnnLm:Auth:Keys:0:Key"] = TrainKey,
        ["RnnLm:Auth:Keys:0:Role"] = "train",
    };

    protected override string ReadyPath => "/health/live";
}
