using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Hosting;
using RnnLmService.Core.Storage;
using RnnLmService.Api.Models;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Endpoints;

/// <summary><c>/api/models</c>: model versions in the store, loading, unloading, deleting, the default model, export and import.</summary>
public static class ModelsApi
{
    /// <summary>Body framing allowed beyond <c>RnnLm:Serving:MaxImportBytes</c>: tar headers, PAX records and padding of up to 256 members.</summary>
    private const long TarSlack = 1024 * 1024;

    private static readonly string[] ImportMediaTypes = [ModelArchive.MediaType, "application/octet-stream"];

    /// <summary>Maps the model management endpoints.</summary>
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/models").WithTags("Models")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/", List)
            .WithName("ListModels").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("List models and their versions")
            .WithDescription("Every model name in the store with its versions (newest first), metrics, which version the bare name resolves to, which versions this replica has loaded, and the default model.");
        group.MapGet("/{name}", Get)
            .WithName("GetModel").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("One model and its versions")
            .WithDescription("{name} is a model name (all its versions) or name@version (that version only).");
        group.MapPost("/{model}/load", Load)
            .WithName("LoadModel").RequireApiRole(ApiKeyRoles.Admin)
            .WithSummary("Load a model version into this replica")
            .WithDescription("Loads name (its promoted, else newest, version) or name@version so the first request does not wait; it stays loaded until unloaded, or, with ?keepAlive= (seconds or a duration such as 10m, as Ollama's keep_alive), for that long after its last request. Concurrent loads of one version load it once.")
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapPost("/{model}/unload", Unload)
            .WithName("UnloadModel").RequireApiRole(ApiKeyRoles.Admin)
            .WithSummary("Unload a model version from this replica")
            .WithDescription("Waits for the requests in flight on the version to finish, then frees it. A later request loads it again.");
        group.MapDelete("/{model}", Delete)
            .WithName("DeleteModel").RequireApiRole(ApiKeyRoles.Admin)
            .WithSummary("Delete a model version or a whole model")
            .WithDescription("name@version deletes that version; name deletes every version of the name. Unloads, removes the records and the files.");
        group.MapPut("/{model}/default", SetDefault)
            .WithName("SetDefaultModel").RequireApiRole(ApiKeyRoles.Admin)
            .WithSummary("Make a model the default")
            .WithDescription("The default model answers requests that name no model (e.g. /v1/completions without model). name@version also makes that version what the bare name resolves to (promotes it).");
        group.MapGet("/{model}/export", Export)
            .WithName("ExportModel").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("Download a model version")
            .WithDescription("Streams name (its promoted, else newest, version) or name@version. Default (format=archive): one uncompressed "
                + "tar (application/x-tar) of the version's directory: model.json first (architecture, tokenizer, recipe, metrics and the "
                + "SHA-256 of every other file), then the weights, vocabulary and any other file; POST /api/models/import reads it. "
                + "format=safetensors: the weights as a safetensors file (application/octet-stream) with a PyTorch-style state dict named "
                + "as pytorch/examples' word_language_model RNNModel (encoder.weight, rnn.weight_ih_l0, ..., decoder.weight, decoder.bias; "
                + "tied weights appear under both names) and model.json and the vocabulary in __metadata__. Files that no longer match "
                + "their hashes → 422 before any byte is sent.")
            .Produces<Stream>(StatusCodes.Status200OK, ModelArchive.MediaType, SafetensorsWriter.MediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapPost("/import", Import)
            .WithName("ImportModel").RequireApiRole(ApiKeyRoles.Admin)
            .WithMetadata(new ConfiguredBodyLimit(app.ServiceProvider, o => o.Serving.MaxImportBytes + TarSlack))
            .WithMetadata(new RawRequestBody("A model archive as GET /api/models/{model}/export writes it (uncompressed tar), as the raw body.", ImportMediaTypes))
            .WithSummary("Import a model archive as a new version")
            .WithDescription("Body: the tar archive itself (Content-Type application/x-tar or application/octet-stream; not multipart). "
                + "?name= registers it under that name (default: the name in the archive), as the name's next version; ?promote=true "
                + "also makes it the default model. Every member must be a regular file with a relative name (no absolute path, '..', "
                + "link, duplicate or member model.json does not list), members together at most RnnLm:Serving:MaxImportBytes bytes, "
                + "each matching its SHA-256 in model.json, and the weights must load; otherwise 400 (code invalid_archive) naming "
                + "the member and the reason, and nothing is written. model.json of the new version records where it came from (origin).")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        return app;
    }

    private static async Task<PushStreamHttpResult> Export(string model, string? format, ModelRegistry registry, IArtifactStore artifacts,
        CancellationToken cancellationToken)
    {
        var kind = ModelExport.ParseFormat(format);
        var record = await registry.ResolveAsync(model, cancellationToken);
        var export = ModelExport.Prepare(await artifacts.GetModelDirectoryAsync(record.ArtifactPath, cancellationToken), record.Name, record.Version, kind);
        return TypedResults.Stream(stream => export.WriteAsync(stream, cancellationToken), export.MediaType, export.FileName);
    }

    private static async Task<Created<ModelImportResponse>> Import(HttpRequest request, string? name, bool? promote, ModelImporter importer,
        ModelRegistry registry, CancellationToken cancellationToken)
    {
        var mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value : null;
        if (mediaType is null || !ImportMediaTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
            throw new UnsupportedMediaTypeException($"Send the archive itself as the body with Content-Type {string.Join(" or ", ImportMediaTypes)} (was '{request.ContentType}').");
        var imported = await importer.ImportAsync(request.Body, name, promote ?? false, cancellationToken);
        await registry.RefreshAsync(cancellationToken);
        var version = Version(registry, imported.Record);
        return TypedResults.Created($"/api/models/{version.Id}", new ModelImportResponse
        {
            Model = version,
            ImportedFrom = imported.Origin.Source,
            SourceCreatedAt = imported.Origin.SourceCreatedAt,
            ArchiveSha256 = imported.Origin.ArchiveSha256,
        });
    }

    private static async Task<Ok<ModelListResponse>> List(ModelRegistry registry, CancellationToken cancellationToken)
    {
        var catalog = await registry.RefreshAsync(cancellationToken);
        return TypedResults.Ok(new ModelListResponse
        {
            DefaultModel = catalog.DefaultModel,
            Models = catalog.Versions.GroupBy(v => v.Name).Select(g => Info(registry, catalog, g.Key, g.ToList())).ToList(),
        });
    }

    private static async Task<Ok<ModelInfo>> Get(string name, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var address = ModelAddress.Parse(name, "name");
        var catalog = await registry.RefreshAsync(cancellationToken);
        var versions = catalog.Versions.Where(v => v.Name == address.Name && (address.Version is null || v.Version == address.Version)).ToList();
        if (versions.Count == 0)
            throw new NotFoundException($"There is no model '{name}'. GET /api/models lists the models.", "name", "model_not_found");
        return TypedResults.Ok(Info(registry, catalog, address.Name, versions));
    }

    private static async Task<Ok<ModelVersionInfo>> Load(string model, string? keepAlive, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var keep = keepAlive is null ? null : RequestChecks.KeepAlive(System.Text.Json.JsonSerializer.SerializeToElement(keepAlive));
        var record = await registry.LoadAsync(model, cancellationToken, keep);
        return TypedResults.Ok(Version(registry, record));
    }

    private static async Task<Ok<ModelVersionInfo>> Unload(string model, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var (record, _) = await registry.UnloadAsync(model, cancellationToken);
        return TypedResults.Ok(Version(registry, record));
    }

    private static async Task<NoContent> Delete(string model, ModelRegistry registry, CancellationToken cancellationToken)
    {
        await registry.DeleteAsync(model, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<DefaultModelResponse>> SetDefault(string model, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var record = await registry.SetDefaultAsync(model, cancellationToken);
        var catalog = registry.Catalog;
        return TypedResults.Ok(new DefaultModelResponse { DefaultModel = catalog.DefaultModel ?? record.Name, ResolvesTo = ModelAddress.Key(record.Name, record.Version) });
    }

    private static ModelInfo Info(ModelRegistry registry, ModelCatalog catalog, string name, IReadOnlyList<ModelVersionRecord> versions)
    {
        var resolved = catalog.Resolve(name, "name");
        var defaultName = catalog.Resolve(null, "model")?.Name;
        return new ModelInfo
        {
            Name = name,
            ResolvesTo = resolved?.Version ?? 0,
            IsDefault = defaultName == name,
            Versions = versions.OrderByDescending(v => v.Version).Select(v => Version(registry, v)).ToList(),
        };
    }

    private static ModelVersionInfo Version(ModelRegistry registry, ModelVersionRecord v)
    {
        JsonElement? metrics = null;
        try
        {
            if (!string.IsNullOrWhiteSpace(v.MetricsJson)) metrics = JsonDocument.Parse(v.MetricsJson).RootElement.Clone();
        }
        catch (JsonException)
        {
            // Unreadable metrics are shown as absent rather than failing the listing.
        }
        var key = ModelAddress.Key(v.Name, v.Version);
        return new ModelVersionInfo
        {
            Id = key,
            Name = v.Name,
            Version = v.Version,
            CreatedAt = v.CreatedAt,
            Promoted = v.Promoted,
            Loaded = registry.IsLoaded(key),
            JobId = v.JobId,
            Parent = v.Parent,
            Metrics = metrics,
        };
    }
}
