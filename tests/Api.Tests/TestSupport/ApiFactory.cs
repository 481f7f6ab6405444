using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Api.Tests.TestSupport;

/// <summary>
/// The whole app over a fresh temporary data directory (its own SQLite store), with the in-process worker and
/// the starter model off unless a test turns them on, and a fast model poll.
/// </summary>
public class ApiFactory : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"rnnlm-api-tests-{Guid.NewGuid():N}");

    /// <summary>Extra <c>RnnLm:...</c> settings for this factory.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("RnnLm:DataDirectory", DataDirectory);
        builder.UseSetting("RnnLm:StarterModel", "false");
        builder.UseSetting("RnnLm:Worker:Enabled", "false");
        builder.UseSetting("RnnLm:Serving:ModelPollInterval", "00:00:00.200");
        foreach (var (key, value) in Settings)
            builder.UseSetting(key, value);
    }

    /// <summary>Writes a new version of <paramref name="name"/> (the tiny model) into the store and the data directory.</summary>
    public Task<ModelVersionRecord> AddModelAsync(string name, bool promote = false)
    {
        var store = Services.GetRequiredService<ModelVersionStore>();
        var data = Services.GetRequiredService<IOptions<RnnLmOptions>>().Value.DataPath;
        return store.RegisterAsync(name, """{"testPerplexity": 42.0}""", null, promote, version =>
        {
            var relative = Path.Combine("models", name, version.ToString());
            TinyModel.CopyTo(Path.Combine(data, relative));
            return relative;
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A factory whose store holds the tiny model as <c>tiny@1</c>, promoted (so it is the default model).</summary>
public class TinyModelFactory : ApiFactory, IAsyncLifetime
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["RnnLm:Serving:MaxPromptCharacters"] = "2000",
        ["RnnLm:Serving:MaxNewTokens"] = "64",
        ["RnnLm:Serving:MaxCompletions"] = "4",
        ["RnnLm:Serving:MaxRequestBodyBytes"] = "4096",
    };

    public async Task InitializeAsync()
    {
        _ = TinyModel.Directory;
        _ = Server; // starts the host: migrates the store
        await AddModelAsync("tiny", promote: true);
        using var client = CreateClient();
        (await client.PostAsync("/api/models/tiny/load", null)).EnsureSuccessStatusCode();
    }

    Task IAsyncLifetime.DisposeAsync() => Task.CompletedTask;
}

internal static class HttpExtensions
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, object body) =>
        client.PostAsJsonAsync(url, body);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string url, string json) =>
        client.PostAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
}
