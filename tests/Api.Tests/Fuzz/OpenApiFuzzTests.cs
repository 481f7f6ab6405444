using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using RnnLmService.Api.Tests.Security;
using Xunit.Abstractions;

namespace RnnLmService.Api.Tests.Fuzz;

/// <summary>
/// Reads the OpenAPI document the host serves and sends every operation in it hostile route values, query values and
/// bodies (see <see cref="HostileValues"/>, <see cref="HostileUploads"/>, <see cref="OpenApiCases"/>) with an admin key.
/// Every answer must be a 4xx in the error shape of its surface (problem+json with a <c>code</c>; OpenAI's shape on
/// <c>/v1</c>, <c>/tokenize</c> and <c>/detokenize</c>) or a 2xx the document lists, never a 5xx, never a server path or stack trace, and never a hang
/// (each request, its streamed answer included, has <see cref="PerRequest"/>). Routes added later are fuzzed because the
/// test iterates the document. The seed is fixed (RNNLM_FUZZ_SEED overrides it); a failure names seed, case and answer.
/// </summary>
public sealed class OpenApiFuzzTests(FuzzFactory factory, ITestOutputHelper output) : IClassFixture<FuzzFactory>
{
    private static readonly TimeSpan PerRequest = TimeSpan.FromSeconds(30);
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("RNNLM_FUZZ_SEED"), out var s) ? s : 15;

    [Fact]
    public async Task Every_operation_in_the_document_answers_hostile_input_with_a_documented_status_in_its_error_shape()
    {
        using var admin = factory.ClientWith(KeyedFactory.AdminKey);
        admin.Timeout = Timeout.InfiniteTimeSpan;
        using var document = JsonDocument.Parse(await admin.GetStringAsync("/swagger/v1/swagger.json"));
        var cases = new OpenApiCases(document.RootElement, ValidRouteValue, OverrideField, Seed);
        // Deletions last, so the model, dataset, job and key stay in place for every other operation.
        var operations = cases.Operations().OrderBy(o => o.Method == "DELETE").ToList();
        Assert.Contains(operations, o => o.Path == "/api/training-jobs" && o.Method == "POST");

        var failures = new List<string>();
        var counts = new Dictionary<string, (int Requests, TimeSpan Time)>();
        var clock = Stopwatch.StartNew();
        foreach (var operation in operations)
        {
            var started = clock.Elapsed;
            var all = cases.For(operation).ToList();
            // Four at a time within an operation (the host is shared with the rest of the suite).
            foreach (var chunk in all.Chunk(4))
                failures.AddRange((await Task.WhenAll(chunk.Select(c => SendAsync(admin, c)))).OfType<string>());
            counts[operation.ToString()] = (all.Count, clock.Elapsed - started);
        }
        output.WriteLine($"seed {Seed}: {counts.Values.Sum(c => c.Requests)} requests over {counts.Count} operations in {clock.Elapsed.TotalSeconds:F0} s");
        foreach (var (op, (n, time)) in counts) output.WriteLine($"  {n,5} {time.TotalSeconds,6:F1} s  {op}");
        Assert.True(failures.Count == 0, $"seed {Seed}: {failures.Count} bad answers (first 40):\n" + string.Join("\n", failures.Take(40)));
    }

    private string ValidRouteValue(string path, string parameter) => (path, parameter) switch
    {
        (_, "model" or "name") => "tiny",
        (_, "id") when path.StartsWith("/api/datasets") => factory.DatasetId,
        (_, "id") when path.StartsWith("/api/training-jobs") => factory.JobId,
        (_, "id") when path.StartsWith("/api/keys") => factory.KeyId,
        _ => "x",
    };

    /// <summary>Valid values where the document's examples name things this host does not have.</summary>
    private JsonNode? OverrideField(string name, JsonNode? value) => name switch
    {
        "model" when value is JsonValue => "tiny",
        "datasetId" => factory.DatasetId,
        "uniqueKey" => null,
        _ => value,
    };

    /// <summary>Sends one case; null when the answer is acceptable, else what was wrong.</summary>
    private async Task<string?> SendAsync(HttpClient client, FuzzCase c)
    {
        using var request = new HttpRequestMessage(new HttpMethod(c.Operation.Method), c.Url);
        if (c.Body is not null)
        {
            request.Content = new ByteArrayContent(c.Body);
            if (c.ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
        }
        var label = $"{c.Operation} [{c.What}]";
        using var timeout = new CancellationTokenSource(PerRequest);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            return Check(c, label, response, body);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return $"{label}: no complete answer within {PerRequest.TotalSeconds} s (a hang)";
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return $"{label}: the connection failed: {e.GetType().Name}: {e.Message}";
        }
    }

    private string? Check(FuzzCase c, string label, HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        var excerpt = body.Length > 300 ? body[..300] + "…" : body;
        string Fail(string why) => $"{label}: {status} {why}: {excerpt}";
        if (status >= 500) return Fail("server error");
        if (body.Contains(factory.DataDirectory) || body.Contains("   at ") || body.Contains("Exception:")) return Fail("leaks a path or exception text");
        if (status is >= 200 and < 300)
            return c.Operation.DocumentedStatuses.Contains(status) ? null : Fail("is a success the document does not list");
        if (status is < 400 or >= 500) return Fail("is neither a success nor a client error");

        var media = response.Content.Headers.ContentType?.MediaType;
        JsonElement root;
        try { root = JsonDocument.Parse(body).RootElement; }
        catch (JsonException) { return Fail($"has a body that is not JSON ({media})"); }
        var path = c.Url.Split('?')[0];
        if (RnnLmService.Api.Errors.OpenAiErrorWriter.IsOpenAiPath(new Microsoft.AspNetCore.Http.PathString(path)))   // /v1 and vLLM's /tokenize, /detokenize
        {
            var ok = media == "application/json" && root.TryGetProperty("error", out var error)
                && Text(error, "message") && Text(error, "type") && Text(error, "code");
            return ok ? null : Fail("is not in OpenAI's error shape");
        }
        var problem = media == "application/problem+json" && Text(root, "code") && Text(root, "detail")
            && root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt32() == status;
        return problem ? null : Fail($"is not a problem+json with code, detail and status ({media})");
    }

    private static bool Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0;
}
