using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Core;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Tests.Security;

/// <summary>The OpenAPI document of a host with keys: bodies, the job spec's enums/ranges/defaults, security and roles.</summary>
public sealed class OpenApiDocumentTests(KeyedFactory factory) : IClassFixture<KeyedFactory>
{
    /// <summary>Operations that take no body; the test proves their handlers cannot read one.</summary>
    private static readonly HashSet<string> Bodyless = ["LoadModel", "UnloadModel", "SetDefaultModel", "CancelTrainingJob", "CancelSweep"];

    private async Task<JsonDocument> DocumentAsync()
    {
        using var client = factory.CreateClient(); // docs are open by default (RnnLm:Auth:ProtectDocs=false)
        return JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
    }

    [Fact]
    public async Task Every_POST_PUT_or_PATCH_that_reads_a_body_declares_it_with_a_schema()
    {
        using var doc = await DocumentAsync();
        var missing = new List<string>();
        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
            foreach (var op in path.Value.EnumerateObject().Where(o => o.Name is "post" or "put" or "patch"))
            {
                var id = op.Value.GetProperty("operationId").GetString()!;
                if (Bodyless.Contains(id)) continue;
                if (!op.Value.TryGetProperty("requestBody", out var body)
                    || !body.GetProperty("content").EnumerateObject().Any()
                    || body.GetProperty("content").EnumerateObject().Any(c => !c.Value.TryGetProperty("schema", out _)))
                    missing.Add($"{op.Name} {path.Name} ({id}) declares no request body with a schema");
            }
        Assert.True(missing.Count == 0, string.Join("\n", missing));

        // The bodyless ones really read none: no request, context or stream, and every other parameter is a route value or a service.
        var services = factory.Services.GetRequiredService<IServiceProviderIsService>();
        foreach (var endpoint in factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
                     .Where(e => Bodyless.Contains(e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "")))
        {
            var method = endpoint.Metadata.GetMetadata<MethodInfo>()!;
            foreach (var p in method.GetParameters())
                Assert.True(p.ParameterType == typeof(string) || p.ParameterType == typeof(CancellationToken) || services.IsService(p.ParameterType),
                    $"{method.Name} takes {p.ParameterType.Name} {p.Name}, which could read a body");
        }
    }

    [Fact]
    public async Task The_dataset_upload_documents_the_multipart_form_and_the_JSON_body()
    {
        using var doc = await DocumentAsync();
        var content = doc.RootElement.GetProperty("paths").GetProperty("/api/datasets").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        var form = content.GetProperty("multipart/form-data").GetProperty("schema").GetProperty("properties");
        Assert.Equal("binary", form.GetProperty("file").GetProperty("format").GetString());
        Assert.Equal(200, form.GetProperty("name").GetProperty("maxLength").GetInt32());
        Assert.True(content.TryGetProperty("application/json", out _));
    }

    [Fact]
    public async Task The_job_spec_schema_lists_enums_ranges_and_defaults()
    {
        using var doc = await DocumentAsync();
        var schemas = doc.RootElement.GetProperty("components").GetProperty("schemas");
        JsonElement Property(string schema, string name) => schemas.GetProperty(schema).GetProperty("properties").GetProperty(name);
        JsonElement Resolve(JsonElement s) => s.TryGetProperty("$ref", out var r) ? schemas.GetProperty(r.GetString()!.Split('/')[^1])
            : s.TryGetProperty("allOf", out var all) || s.TryGetProperty("oneOf", out all) ? Resolve(all.EnumerateArray().First(e => e.TryGetProperty("$ref", out _)))
            : s;

        var optimizer = Resolve(Property("TrainingOptions", "optimizer"));
        Assert.Equal(["sgd", "adam", "adamW", "ntAsgd"], optimizer.GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["lstm", "gru", "rnnTanh"], Resolve(Property("ModelOptions", "cellType")).GetProperty("enum").EnumerateArray().Select(e => e.GetString()));

        var epochs = Property("TrainingOptions", "epochs");
        Assert.Equal(("1", "1000", 6), (epochs.GetProperty("minimum").ToString(), epochs.GetProperty("maximum").ToString(), epochs.GetProperty("default").GetInt32()));
        // OpenAPI 3.0's form of an open bound: the bound, and exclusiveMinimum/exclusiveMaximum true.
        var learningRate = Property("TrainingOptions", "learningRate");
        Assert.Equal(("0", true), (learningRate.GetProperty("minimum").ToString(), learningRate.GetProperty("exclusiveMinimum").GetBoolean()));
        var dropout = Property("ModelOptions", "dropout");
        Assert.Equal(("1", true), (dropout.GetProperty("maximum").ToString(), dropout.GetProperty("exclusiveMaximum").GetBoolean()));
        Assert.Equal(0.2, Property("ModelOptions", "dropout").GetProperty("default").GetDouble());

        // The vocabulary options (issue 13 item 3): kind bpe, the BPE vocabulary size and the adaptive softmax, with ranges and examples.
        Assert.Equal(["word", "character", "bpe"], Resolve(Property("TokenizerOptions", "kind")).GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        var bpeSize = Property("TokenizerOptions", "vocabularySize");
        Assert.Equal(("258", "1000000", 8000), (bpeSize.GetProperty("minimum").ToString(), bpeSize.GetProperty("maximum").ToString(), bpeSize.GetProperty("example").GetInt32()));
        var cutoffs = Property("ModelOptions", "adaptiveSoftmaxCutoffs");
        Assert.Equal([2000, 10000], cutoffs.GetProperty("example").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(16, cutoffs.GetProperty("maxItems").GetInt32());
        Assert.Equal("2", cutoffs.GetProperty("items").GetProperty("minimum").ToString());
        var div = Property("ModelOptions", "adaptiveSoftmaxDivValue");
        Assert.Equal(("1", "1000", 4.0), (div.GetProperty("minimum").ToString(), div.GetProperty("maximum").ToString(), div.GetProperty("default").GetDouble()));

        var request = schemas.GetProperty("CreateTrainingJobRequest").GetProperty("properties");
        Assert.Equal("^[a-z0-9][a-z0-9._-]{0,63}$", request.GetProperty("modelName").GetProperty("pattern").GetString());
        // A warm start's parent: name or name@version.
        Assert.Equal("^[a-z0-9][a-z0-9._-]{0,63}(@[1-9][0-9]{0,9})?$", request.GetProperty("init").GetProperty("pattern").GetString());
        var body = doc.RootElement.GetProperty("paths").GetProperty("/api/training-jobs").GetProperty("post").GetProperty("requestBody");
        Assert.Equal("my-model", body.GetProperty("content").GetProperty("application/json").GetProperty("example").GetProperty("modelName").GetString());
    }

    [Fact]
    public async Task The_sweep_body_is_documented_with_an_example_and_the_model_name_rule()
    {
        using var doc = await DocumentAsync();
        var json = doc.RootElement.GetProperty("paths").GetProperty("/api/sweeps").GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json");
        var example = json.GetProperty("example");
        Assert.Equal("bptt-sweep", example.GetProperty("name").GetString());
        Assert.Equal("fast", example.GetProperty("base").GetProperty("preset").GetString());
        Assert.Equal(2, example.GetProperty("grid").GetProperty("training.bptt").GetArrayLength());
        var request = doc.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("CreateSweepRequest").GetProperty("properties");
        Assert.Equal("^[a-z0-9][a-z0-9._-]{0,63}$", request.GetProperty("name").GetProperty("pattern").GetString());
        Assert.Contains("model.embeddingSize", request.GetProperty("grid").GetProperty("description").GetString());
    }

    [Fact]
    public void The_documented_ranges_are_the_ones_Validate_enforces()
    {
        var wrong = new List<string>();
        foreach (var ((type, name), (min, max, exclusiveMin, exclusiveMax)) in RnnLmService.Api.Hosting.JobSpecSchemaDocs.Ranges)
        {
            var property = type.GetProperty(name)!;
            var integer = property.PropertyType == typeof(int) || property.PropertyType == typeof(int?);
            var whole = integer || property.PropertyType == typeof(long?);
            var step = whole ? 1 : 1e-6;
            foreach (var (value, valid) in new[]
                     {
                         (exclusiveMin ? min + step : min, true), (exclusiveMin ? min : min - step, false),
                         (exclusiveMax ? max - step : max, true), (exclusiveMax ? max : max + step, false),
                     })
            {
                var options = Activator.CreateInstance(type)!;
                if (options is ModelOptions) typeof(ModelOptions).GetProperty(nameof(ModelOptions.TieWeights))!.SetValue(options, false);
                if (options is TokenizerOptions && name == nameof(TokenizerOptions.VocabularySize))     // the BPE vocabulary size needs kind bpe
                    typeof(TokenizerOptions).GetProperty(nameof(TokenizerOptions.Kind))!.SetValue(options, TokenizerKind.Bpe);
                if (options is ModelOptions && name.EndsWith("Dropout") && name is not nameof(ModelOptions.EmbeddingDropout))   // a locked-dropout rate needs lockedDropout
                    typeof(ModelOptions).GetProperty(nameof(ModelOptions.LockedDropout))!.SetValue(options, true);
                if (options is TrainingOptions && name == nameof(TrainingOptions.GradientAccumulation))   // it must divide batchSize
                    typeof(TrainingOptions).GetProperty(nameof(TrainingOptions.BatchSize))!.SetValue(options, 64);
                property.SetValue(options, integer ? (object)Convert.ToInt32(value) : property.PropertyType == typeof(long?) ? (object)Convert.ToInt64(value) : value);
                var ok = true;
                try { type.GetMethod("Validate")!.Invoke(options, null); }
                catch (TargetInvocationException e) when (e.InnerException is InvalidSettingException) { ok = false; }
                if (ok != valid) wrong.Add($"{type.Name}.{name} = {value}: Validate says {(ok ? "valid" : "invalid")}, the document says {(valid ? "valid" : "invalid")}");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task The_document_carries_the_key_schemes_each_operations_role_and_its_error_answers()
    {
        using var doc = await DocumentAsync();
        var schemes = doc.RootElement.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty("bearer").GetProperty("scheme").GetString());
        Assert.Equal("X-Api-Key", schemes.GetProperty("apiKey").GetProperty("name").GetString());
        Assert.Contains("| DELETE | /api/keys/{id} | admin |", doc.RootElement.GetProperty("info").GetProperty("description").GetString());

        var wrong = new List<string>();
        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
            foreach (var op in path.Value.EnumerateObject())
            {
                var responses = op.Value.GetProperty("responses");
                var open = path.Name.StartsWith("/health");
                if (open) continue;
                if (!op.Value.TryGetProperty("x-required-role", out _)) wrong.Add($"{op.Name} {path.Name}: no x-required-role");
                if (!op.Value.TryGetProperty("security", out var security) || security.GetArrayLength() == 0) wrong.Add($"{op.Name} {path.Name}: no security");
                foreach (var status in new[] { "401", "403", "500" })
                    if (!responses.TryGetProperty(status, out _)) wrong.Add($"{op.Name} {path.Name}: no {status}");
            }
        var next = doc.RootElement.GetProperty("paths").GetProperty("/api/models/{model}/next-word").GetProperty("post");
        Assert.True(next.GetProperty("responses").TryGetProperty("429", out _));
        Assert.Equal("read", next.GetProperty("x-required-role").GetString());
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task With_ProtectDocs_the_document_needs_a_read_key()
    {
        using var protectedDocs = new ProtectedDocsFactory();
        using var anonymous = protectedDocs.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/swagger/v1/swagger.json")).StatusCode);
        using var reader = protectedDocs.ClientWith(KeyedFactory.ReadKey);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/swagger/v1/swagger.json")).StatusCode);
    }

    private sealed class ProtectedDocsFactory : KeyedFactory
    {
        protected override IReadOnlyDictionary<string, string> Limits => new Dictionary<string, string> { ["RnnLm:Auth:ProtectDocs"] = "true" };
    }
}
