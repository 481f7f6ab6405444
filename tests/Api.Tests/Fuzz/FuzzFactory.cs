using System.Net.Http.Json;
using System.Text.Json;
using RnnLmService.Api.Tests.Security;

namespace RnnLmService.Api.Tests.Fuzz;

/// <summary>
/// A keyed host (limits off, worker off) whose store holds what valid route values point at: the tiny model
/// (loaded, promoted), a dataset, a queued job on it and a created key, so that hostile requests reach the handlers.
/// Small serving limits keep any valid inference request short.
/// </summary>
public sealed class FuzzFactory : KeyedFactory, IAsyncLifetime
{
    public string DatasetId { get; private set; } = "";
    public string JobId { get; private set; } = "";
    public string KeyId { get; private set; } = "";

    protected override IReadOnlyDictionary<string, string> Limits => new Dictionary<string, string>(base.Limits)
    {
        ["RnnLm:Serving:MaxNewTokens"] = "64",
        ["RnnLm:Serving:MaxCompletions"] = "4",
        ["RnnLm:Serving:MaxUploadBytes"] = (32 << 20).ToString(),
    };

    public async Task InitializeAsync()
    {
        _ = Server;
        await AddModelAsync("tiny", promote: true);
        using var admin = ClientWith(AdminKey);
        (await admin.PostAsync("/api/models/tiny/load", null)).EnsureSuccessStatusCode();
        DatasetId = await IdOf(await admin.PostAsJsonAsync("/api/datasets", new { name = "fuzz", text = string.Concat(Enumerable.Repeat("the cat sat on the mat .\n", 50)) }));
        JobId = await IdOf(await admin.PostAsJsonAsync("/api/training-jobs", new { datasetId = DatasetId, modelName = "fuzzed", training = new { epochs = 1 } }));
        KeyId = await IdOf(await admin.PostAsJsonAsync("/api/keys", new { name = "fuzz-victim", role = "read" }));
    }

    private static async Task<string> IdOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var body = JsonDocument.Parse(text);
        return body.RootElement.GetProperty("id").GetString()!;
    }

    Task IAsyncLifetime.DisposeAsync() => Task.CompletedTask;
}
