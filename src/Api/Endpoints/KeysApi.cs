using Microsoft.AspNetCore.Http.HttpResults;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Security;
using RnnLmService.Core;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Endpoints;

/// <summary><c>/api/keys</c> (admin): create a key (shown once), list keys, revoke a key.</summary>
public static class KeysApi
{
    /// <summary>Maps the key management endpoints.</summary>
    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/keys").WithTags("Keys").RequireApiRole(ApiKeyRoles.Admin)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateAsync).WithName("CreateKey")
            .WithSummary("Create an API key")
            .WithDescription("Body: name and role (read, train or admin). Answers 201 with the key: it is shown this once (only its SHA-256 is stored). "
                + "While the service is open on loopback without keys, the first key created closes it: from then on every route but health needs a key.");
        group.MapGet("/", ListAsync).WithName("ListKeys")
            .WithSummary("List API keys")
            .WithDescription("Configured keys (RnnLm:Auth:Keys) and created ones, revoked ones included; never the keys themselves.");
        group.MapDelete("/{id}", RevokeAsync).WithName("RevokeKey")
            .WithSummary("Revoke an API key")
            .WithDescription("The key stops working at once on this replica and within RnnLm:Auth:KeyCacheDuration on others. "
                + "Configured keys are removed from configuration instead (409).")
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Created<CreatedKeyResponse>> CreateAsync(CreateKeyRequest body, ApiKeyStore store, ApiKeyResolver keys, CancellationToken ct)
    {
        InvalidSettingException.Check(body.Name is not null, "name", "name is required.");
        InvalidSettingException.Check(body.Role is not null, "role", "role is required: read, train or admin.");
        var (record, key) = await store.CreateAsync(body.Name!, body.Role!, ct);
        keys.Invalidate();
        var r = ToResponse(record);
        return TypedResults.Created($"/api/keys/{record.Id}", new CreatedKeyResponse
        {
            Id = r.Id, Name = r.Name, Role = r.Role, Source = r.Source, Prefix = r.Prefix, CreatedAt = r.CreatedAt, Key = key,
        });
    }

    private static async Task<Ok<KeyList>> ListAsync(ApiKeyStore store, ApiKeyResolver keys, CancellationToken ct)
    {
        var configured = keys.Configured.Select(k => new KeyResponse { Id = k.Id, Name = k.Name, Role = k.Role, Source = "configuration" });
        var stored = (await store.ListAsync(ct)).Select(ToResponse);
        return TypedResults.Ok(new KeyList { Items = [.. configured, .. stored] });
    }

    private static async Task<NoContent> RevokeAsync(string id, ApiKeyStore store, ApiKeyResolver keys, CancellationToken ct)
    {
        if (keys.Configured.Any(k => k.Id == id))
            throw new ConflictException($"'{id}' is a configured key: remove it from RnnLm:Auth:Keys and restart.", "id", "configured_key");
        await store.RevokeAsync(id, ct);
        keys.Invalidate();
        return TypedResults.NoContent();
    }

    private static KeyResponse ToResponse(ApiKeyRecord k) => new()
    {
        Id = k.Id, Name = k.Name, Role = k.Role, Source = "database", Prefix = k.Prefix, CreatedAt = k.CreatedAt, RevokedAt = k.RevokedAt,
    };
}
