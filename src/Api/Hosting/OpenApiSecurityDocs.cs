using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// The document's security: the two ways to send a key (bearer token, <c>X-Api-Key</c>), each operation's role
/// (<c>x-required-role</c>, a line in its description, a security requirement Swagger UI's "Authorize" fills in),
/// its 401/403/429/500 answers, and the route → role table in the document's description.
/// </summary>
internal sealed class OpenApiSecurityDocs : IOperationFilter, IDocumentFilter
{
    public const string BearerScheme = "bearer";
    public const string HeaderScheme = "apiKey";

    /// <summary>The two schemes, registered on the generator.</summary>
    public static void AddSchemes(SwaggerGenOptions o)
    {
        o.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key as a bearer token: 'Authorization: Bearer <key>' (what OpenAI clients send).",
        });
        o.AddSecurityDefinition(HeaderScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyAuthenticationHandler.ApiKeyHeader,
            Description = "An API key in the X-Api-Key header.",
        });
        o.OperationFilter<OpenApiSecurityDocs>();
        o.DocumentFilter<OpenApiSecurityDocs>();
    }

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
        var role = Role(metadata);
        var openAi = OpenAiErrorWriter.IsOpenAiPath("/" + context.ApiDescription.RelativePath);
        var errorType = openAi ? typeof(OpenAiErrorResponse) : typeof(ProblemDetails);
        var mediaType = openAi ? "application/json" : "application/problem+json";
        operation.Responses ??= [];
        if (role is null)
        {
            operation.Description += "\n\nAccess: open, no key needed.";
            operation.Security = [];
        }
        else
        {
            operation.Description += $"\n\nRole: {role} (or a higher role). Send the key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.";
            operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
            operation.Extensions["x-required-role"] = new JsonNodeExtension(JsonValue.Create(role));
            operation.Security =
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(HeaderScheme, context.Document)] = [] },
            ];
            Add(operation, context, "401", "No valid API key (missing, unknown or revoked): code invalid_api_key.", errorType, mediaType);
            Add(operation, context, "403", $"The key's role is below '{role}' (code insufficient_role), or a cross-site browser request (code cross_site_request).", errorType, mediaType);
        }
        if (metadata.OfType<EnableRateLimitingAttribute>().Any() || metadata.OfType<ConcurrencyLimit>().Any())
            Add(operation, context, "429", "A per-key limit (RnnLm:Limits) is used up; Retry-After says when to retry.", errorType, mediaType);
        Add(operation, context, "500", "An unexpected server error; the log has it under the correlation id.", errorType, mediaType);
    }

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        var table = new StringBuilder("\n\n## Who may call what\n\nRoles include the ones below them: read ⊂ train ⊂ admin. ")
            .Append("Without keys the service is open while it listens on loopback only.\n\n| method | route | role |\n| --- | --- | --- |\n");
        foreach (var d in context.ApiDescriptions.OrderBy(d => d.RelativePath).ThenBy(d => d.HttpMethod))
            table.Append($"| {d.HttpMethod} | /{d.RelativePath} | {Role(d.ActionDescriptor.EndpointMetadata) ?? "open"} |\n");
        document.Info.Description += table.ToString();
    }

    /// <summary>The role an endpoint needs, or null when it is open to anyone.</summary>
    internal static string? Role(IList<object> metadata) =>
        metadata.OfType<IAllowAnonymous>().Any() ? null : metadata.OfType<RequiredRole>().LastOrDefault()?.Role ?? ApiKeyRoles.Read;

    private static void Add(OpenApiOperation operation, OperationFilterContext context, string status, string description, Type type, string mediaType)
    {
        if (operation.Responses!.ContainsKey(status)) return;
        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                [mediaType] = new() { Schema = context.SchemaGenerator.GenerateSchema(type, context.SchemaRepository) },
            },
        };
    }
}
