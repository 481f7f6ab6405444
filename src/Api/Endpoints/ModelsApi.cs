using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Errors;
using RnnLmService.Core.Storage;
using RnnLmService.Api.Models;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Endpoints;

/// <summary><c>/api/models</c>: model versions in the store, loading, unloading, deleting, the default model.</summary>
public static class ModelsApi
{
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
            .WithDescription("Loads name (its promoted, else newest, version) or name@version so the first request does not wait; it stays loaded until unloaded. Concurrent loads of one version load it once.")
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
        return app;
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

    private static async Task<Ok<ModelVersionInfo>> Load(string model, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var record = await registry.LoadAsync(model, cancellationToken);
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
            Metrics = metrics,
        };
    }
}
