using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using RnnLmService.Core;
using Storage = RnnLmService.Core.Storage;

namespace RnnLmService.Api.Errors;

/// <summary>
/// The one place where exceptions become HTTP answers: domain and service exceptions map to their 4xx/5xx
/// status and a problem+json body naming the field and the reason (on <c>/v1</c> the
/// <see cref="OpenAiErrorWriter"/> turns the same problem into OpenAI's error shape).
/// </summary>
internal sealed partial class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to read an answer.
            http.Response.StatusCode = 499;
            return true;
        }

        var problem = Map(exception);
        // What the client does not see (paths, inner exception text) goes to the log under the correlation id.
        if (problem.Status >= 500 && exception is not ServiceException { InnerException: null } || exception is ModelFormatException)
            logger.LogError(exception, "{Method} {Path} failed with {Status}", http.Request.Method, http.Request.Path, problem.Status);
        if (exception is UnauthorizedException)
            http.Response.Headers.WWWAuthenticate = "Bearer";

        http.Response.StatusCode = problem.Status!.Value;
        if (RetryAfter(exception) is { } retry)
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString();

        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception }))
            await http.Response.WriteAsJsonAsync(problem, cancellationToken);
        return true;
    }

    /// <summary>Status, title, detail and the <c>errors</c>/<c>code</c> extensions of an exception.</summary>
    internal static ProblemDetails Map(Exception exception) => exception switch
    {
        ServiceException e => WithDetails(Problem(e.StatusCode, e.Message, e.Field, e.Code), e.Details),
        InvalidSettingsException e => ProblemWith(StatusCodes.Status400BadRequest, e.Reason, e.Errors, "invalid_value"),
        InvalidArchiveException e => Problem(StatusCodes.Status400BadRequest, $"The archive was not imported (nothing was written): {e.Reason}", e.Field, "invalid_archive"),
        InvalidSettingException e => Problem(StatusCodes.Status400BadRequest, e.Reason, e.Field, "invalid_value"),
        // The reason names the file within the model ("weights.bin does not match its hash"); one that carries a path
        // (an inner exception's text) is not shown.
        ModelFormatException e => Problem(StatusCodes.Status422UnprocessableEntity,
            e.Reason.Contains('/') || e.Reason.Contains('\\')
                ? "The model's files cannot be loaded: they are missing, damaged or of another format. The server log has the details under this correlation id."
                : $"The model's files cannot be loaded: {e.Reason.TrimEnd('.')}. The server log has the details under this correlation id.",
            "model", "model_unloadable"),
        BadHttpRequestException e => FromBadRequest(e),
        Storage.NotFoundException e => Problem(StatusCodes.Status404NotFound, e.Message, e.Field, e.Code),
        Storage.ConflictException e => Problem(StatusCodes.Status409Conflict, e.Message, e.Field, e.Code),
        Storage.PayloadTooLargeException e => Problem(StatusCodes.Status413PayloadTooLarge, e.Message, e.Field, "body_too_large"),
        Storage.StoreUnavailableException => Problem(StatusCodes.Status503ServiceUnavailable,
            "The store (database) is unavailable; try again shortly.", null, "store_unavailable"),
        InvalidDataException e when e.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase) =>
            Problem(StatusCodes.Status413PayloadTooLarge, "A multipart section is larger than the configured limit.", "file", "body_too_large"),
        InvalidDataException => Problem(StatusCodes.Status400BadRequest,
            "The multipart body is malformed (boundaries or section headers).", "file", "invalid_multipart"),
        JsonException e => FromJson(e),
        // System.Text.Json reads a string lazily (JsonElement, JsonNode): an escaped lone surrogate ("\ud800") or bytes that
        // are not UTF-8 surface there as InvalidOperationException, not JsonException. The client's text, never our bug.
        InvalidOperationException e when IsUndecodableJsonText(e) => Problem(StatusCodes.Status400BadRequest,
            "A string in the JSON body is not valid text: an escaped lone surrogate (such as \\ud800 without its pair) or bytes that are not UTF-8.",
            "body", "invalid_json"),
        // ReadFromJsonAsync (ours or minimal-API binding) on a Content-Type it cannot read, e.g. an unknown charset.
        InvalidOperationException e when e.TargetSite?.DeclaringType?.Name == "HttpRequestJsonExtensions" => Problem(StatusCodes.Status415UnsupportedMediaType,
            "The body's Content-Type cannot be read as JSON (unknown media type or charset); send Content-Type: application/json (UTF-8).",
            "body", "unsupported_media_type"),
        _ => Problem(StatusCodes.Status500InternalServerError, "An unexpected error occurred.", null, "internal_error"),
    };

    private static ProblemDetails WithDetails(ProblemDetails problem, IReadOnlyDictionary<string, object?>? details)
    {
        foreach (var (key, value) in details ?? new Dictionary<string, object?>()) problem.Extensions[key] = value;
        return problem;
    }

    /// <summary>System.Text.Json's "invalid UTF-16" (lone surrogate escapes) and "cannot transcode invalid UTF-8" failures.</summary>
    private static bool IsUndecodableJsonText(InvalidOperationException e) =>
        e.TargetSite is { DeclaringType.Namespace: "System.Text.Json" } site
        && (site.Name.Contains("UTF16", StringComparison.Ordinal) || site.Name == "TranscodeHelper");

    private static TimeSpan? RetryAfter(Exception exception) => exception switch
    {
        ServiceException e => e.RetryAfter,
        Storage.StoreUnavailableException => TimeSpan.FromSeconds(5),
        _ => null,
    };

    private static ProblemDetails FromBadRequest(BadHttpRequestException e)
    {
        if (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            return Problem(e.StatusCode, "The request body is larger than the configured limit.", "body", "body_too_large");
        if (e.StatusCode == StatusCodes.Status415UnsupportedMediaType)
            return Problem(e.StatusCode, "Send the body as JSON with the header Content-Type: application/json.", "body", "unsupported_media_type");
        if (e.InnerException is JsonException json)
            return FromJson(json);
        if (QueryParameter().Match(e.Message) is { Success: true } bind)
        {
            var name = bind.Groups["name"].Value;
            var type = bind.Groups["type"].Value.ToLowerInvariant();
            var expected = type.Contains("int") || type.Contains("long") ? "a whole number"
                : type.Contains("double") || type.Contains("float") || type.Contains("decimal") ? "a number"
                : type.Contains("bool") ? "true or false"
                : $"of type {bind.Groups["type"].Value}";
            return Problem(e.StatusCode, $"The parameter {name} must be {expected} (was '{bind.Groups["value"].Value}').", name, "invalid_parameter");
        }
        if (RequiredParameter().Match(e.Message) is { Success: true } missing)
            return Problem(e.StatusCode, $"The parameter {missing.Groups["name"].Value} is required.", missing.Groups["name"].Value, "invalid_parameter");
        if (e.Message.Contains("body", StringComparison.OrdinalIgnoreCase))
            return Problem(e.StatusCode, "The body is empty or not JSON; send a JSON object.", "body", "invalid_json");
        return Problem(e.StatusCode, "The request could not be read.", "body", "bad_request");
    }

    /// <summary>A JSON error the serializer found (not the API's own check): named by its path, without the serializer's wording.</summary>
    private static ProblemDetails FromJson(JsonException e)
    {
        var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.StartsWith("$.") ? e.Path[2..] : e.Path.TrimStart('$');
        return field == "body"
            ? Problem(StatusCodes.Status400BadRequest, "The body is not valid JSON; send a JSON object.", field, "invalid_json")
            : Problem(StatusCodes.Status400BadRequest, $"{field} has a value of the wrong type or out of range; see the schema of this request in /swagger.", field, "invalid_json");
    }

    [System.Text.RegularExpressions.GeneratedRegex("^Failed to bind parameter \"(?<type>[^ \"]+) (?<name>[^\"]+)\" from \"(?<value>.*)\"\\.?$")]
    private static partial System.Text.RegularExpressions.Regex QueryParameter();

    [System.Text.RegularExpressions.GeneratedRegex("^Required parameter \"(?<type>[^ \"]+) (?<name>[^\"]+)\" was not provided")]
    private static partial System.Text.RegularExpressions.Regex RequiredParameter();

    private static ProblemDetails Problem(int status, string detail, string? field, string code) =>
        ProblemWith(status, detail, field is null ? null : new Dictionary<string, string[]> { [field] = [detail] }, code);

    private static ProblemDetails ProblemWith(int status, string detail, IReadOnlyDictionary<string, string[]>? errors, string code)
    {
        var problem = new ProblemDetails { Status = status, Detail = detail };
        problem.Extensions["code"] = code;
        if (errors is not null)
            problem.Extensions["errors"] = errors.ToDictionary(e => e.Key, e => e.Value);
        return problem;
    }
}
