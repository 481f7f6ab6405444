using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Errors;
using RnnLmService.Core;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// Reads a JSON request body the way every <c>/api</c> endpoint does: a 415 that says what to send, syntax errors with
/// the line and column, and then <see cref="JsonBodyChecker"/>'s field-by-field check against the type the body is
/// read as (all mismatches at once, unknown fields with the closest known name).
/// </summary>
public static class JsonBody
{
    /// <summary>The body as a JSON tree; 415 when it is not JSON, 400 when it does not parse.</summary>
    public static async Task<JsonNode> ParseAsync(HttpRequest request, CancellationToken ct)
    {
        if (!request.HasJsonContentType())
            throw new UnsupportedMediaTypeException(
                $"Send the body as JSON with the header Content-Type: application/json (was {(string.IsNullOrEmpty(request.ContentType) ? "no Content-Type" : $"'{request.ContentType}'")}).");
        try
        {
            // Duplicate properties are a 400 here (a JsonObject would otherwise fail on first access with ArgumentException).
            return await JsonNode.ParseAsync(request.Body, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }, cancellationToken: ct)
                ?? throw new InvalidSettingException("body", "The body must be a JSON object (was null).");
        }
        catch (JsonException e)
        {
            throw Syntax(e);
        }
    }

    /// <summary>A parse failure worded by the API: where it is, not the parser's own message.</summary>
    internal static InvalidJsonException Syntax(JsonException e) =>
        e.LineNumber is null or 0 && e.BytePositionInLine is null or 0
            ? new InvalidJsonException("The body is empty or not JSON; send a JSON object, e.g. {\"context\": \"the king\"}.")
            : new InvalidJsonException(
                $"The body is not valid JSON: the syntax breaks at line {e.LineNumber + 1}, column {e.BytePositionInLine + 1} (check quotes, commas and brackets).");

    /// <summary>
    /// Throws <see cref="InvalidSettingsException"/> with every field of <paramref name="body"/> that does not fit
    /// <paramref name="type"/>. Inside <see cref="SettingErrors.Collect"/> it records them instead, drops those fields
    /// from the body, and returns, so that the rest is read and checked too.
    /// </summary>
    public static void Check(JsonNode body, Type type, JsonSerializerOptions options)
    {
        var errors = JsonBodyChecker.CheckAndDrop(body, type, options, drop: true);
        // Outside a collection this throws them all together; inside one they join the request's other failures.
        SettingErrors.Collect(() =>
        {
            foreach (var (field, message) in errors) InvalidSettingException.Check(false, field, message);
        });
    }

    /// <summary>Parses, checks and reads the body as <typeparamref name="T"/>.</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonSerializerOptions options, CancellationToken ct)
    {
        var node = await ParseAsync(request, ct);
        Check(node, typeof(T), options);
        return node.Deserialize<T>(options) ?? throw new InvalidSettingException("body", "The body must be a JSON object (was null).");
    }
}

/// <summary>
/// For <c>/api</c> endpoints whose body the framework binds (a typed parameter): checks the body with
/// <see cref="JsonBody"/> before binding, so binding only ever sees a body that fits, and every error is the API's.
/// </summary>
internal sealed class JsonBodyCheckMiddleware(RequestDelegate next, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
{
    public async Task InvokeAsync(HttpContext http)
    {
        if (http.Request.Path.StartsWithSegments("/api")
            && http.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>() is { RequestType: { } type, IsOptional: false })
        {
            http.Request.EnableBuffering();
            var node = await JsonBody.ParseAsync(http.Request, http.RequestAborted);
            JsonBody.Check(node, type, json.Value.SerializerOptions);
            http.Request.Body.Position = 0;
        }
        await next(http);
    }
}
