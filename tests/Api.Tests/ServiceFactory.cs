using RnnLmService.Tests.Shared;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace RnnLmService.Api.Tests;

/// <summary>The whole service on a temporary data directory with a SQLite store; the in-process worker on or off.</summary>
public class ServiceFactory : WebApplicationFactory<Program>
{
    private readonly bool _keepData;

    public ServiceFactory() : this(null) { }

    /// <summary>A host on <paramref name="dataDirectory"/> (kept at dispose), e.g. a restart of another host.</summary>
    public static ServiceFactory On(string dataDirectory) => new(dataDirectory);

    // Not public: a class fixture may have one public constructor only.
    private ServiceFactory(string? dataDirectory)
    {
        _keepData = dataDirectory is not null;
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "rnnlm-api-tests", Guid.NewGuid().ToString("N"));
    }

    public string DataDirectory { get; }

    protected virtual bool Worker => true;
    protected virtual long MaxUploadBytes => 256L * 1024 * 1024;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("RnnLm:DataDirectory", DataDirectory);
        builder.UseSetting("RnnLm:StarterModel", "false");
        builder.UseSetting("RnnLm:Worker:Enabled", Worker ? "true" : "false");
        builder.UseSetting("RnnLm:Worker:PollInterval", "00:00:00.050");
        builder.UseSetting("RnnLm:Worker:HeartbeatInterval", "00:00:00.200");
        builder.UseSetting("RnnLm:Worker:TorchThreads", "1");
        builder.UseSetting("RnnLm:Serving:MaxUploadBytes", MaxUploadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (_keepData) return;
        try { Directory.Delete(DataDirectory, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>No in-process worker: jobs stay queued.</summary>
public sealed class QueueOnlyFactory : ServiceFactory
{
    protected override bool Worker => false;
    protected override long MaxUploadBytes => 4096;
}

/// <summary>Requests and corpora the API tests share.</summary>
internal static class Api
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The toy language all test projects train on (see <see cref="CycleLanguage"/>).</summary>
    public static string Cycle(int lines, int seed) => CycleLanguage.Text(lines, seed);

    public static async Task<JsonElement> UploadTextAsync(HttpClient client, string text, string name = "cycle")
    {
        var response = await client.PostAsJsonAsync("/api/datasets", new { name, text });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>A tiny job: hidden 16, GRU, Adam.</summary>
    public static object Job(string datasetId, string modelName, int epochs = 1, int batchSize = 4, bool promote = false) => new
    {
        datasetId,
        modelName,
        promote,
        tokenizer = new { kind = "word" },
        model = new { cellType = "gru", embeddingSize = 16, hiddenSize = 16, layers = 1, dropout = 0.0 },
        training = new { optimizer = "adam", learningRate = 0.02, epochs, batchSize, evalBatchSize = 2, bptt = 8, clip = 1.0, patience = 0, seed = 7 },
    };

    public static async Task<JsonElement> GetJobAsync(HttpClient client, string id) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/training-jobs/{id}");

    /// <summary>Polls until the job satisfies <paramref name="until"/>; the deadline only catches hangs.</summary>
    public static async Task<JsonElement> WaitAsync(HttpClient client, string id, Func<JsonElement, bool> until)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            var job = await GetJobAsync(client, id);
            if (until(job)) return job;
            await Task.Delay(50);
        }
        throw new TimeoutException($"job {id} did not reach the expected state");
    }

    public static bool IsTerminal(JsonElement job) => job.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled";

    /// <summary>Asserts a problem+json answer with the status and, for 400s, the field as a key of <c>errors</c>.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status, string? field = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        if (field is not null)
        {
            JsonElement reasons = default;
            Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out reasons),
                $"no error for '{field}' in {body}");
            Assert.False(string.IsNullOrWhiteSpace(reasons[0].GetString()));
        }
        return problem;
    }
}
