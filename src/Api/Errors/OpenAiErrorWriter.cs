using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace RnnLmService.Api.Errors;

/// <summary>
/// Writes every problem on <c>/v1/*</c> in OpenAI's error shape
/// (<c>{"error": {"message", "type", "param", "code"}}</c>) so OpenAI client libraries understand it.
/// Registered before the default problem+json writer; the status code stays the same.
/// </summary>
internal sealed class OpenAiErrorWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => IsOpenAiPath(context.HttpContext.Request.Path);

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var error = ToError(context.ProblemDetails, http.Response.StatusCode);
        return new ValueTask(http.Response.WriteAsJsonAsync(error, OpenAiErrorJsonContext.Default.OpenAiErrorResponse));
    }

    internal static bool IsOpenAiPath(PathString path) => path.StartsWithSegments("/v1");

    internal static OpenAiErrorResponse ToError(ProblemDetails problem, int status)
    {
        string? param = null;
        if (problem.Extensions.TryGetValue("errors", out var errors))
            param = errors switch
            {
                IDictionary<string, string[]> d => d.Keys.FirstOrDefault(),
                _ => null,
            };
        if (problem is HttpValidationProblemDetails validation)
            param ??= validation.Errors.Keys.FirstOrDefault();
        var code = problem.Extensions.TryGetValue("code", out var c) ? c?.ToString() : null;
        var type = status switch
        {
            StatusCodes.Status401Unauthorized => "authentication_error",
            StatusCodes.Status403Forbidden => "permission_error",
            StatusCodes.Status404NotFound => "invalid_request_error",
            StatusCodes.Status429TooManyRequests => "rate_limit_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        };
        return new OpenAiErrorResponse(new OpenAiError(problem.Detail ?? problem.Title ?? "Error", type, param, code));
    }
}

/// <summary>OpenAI's error envelope.</summary>
/// <param name="Error">The error.</param>
public sealed record OpenAiErrorResponse([property: JsonPropertyName("error")] OpenAiError Error);

/// <summary>One OpenAI-style error.</summary>
/// <param name="Message">What went wrong, in a sentence.</param>
/// <param name="Type">Error class, e.g. <c>invalid_request_error</c>.</param>
/// <param name="Param">The request field at fault, if any.</param>
/// <param name="Code">A stable code, e.g. <c>model_not_found</c>.</param>
public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

[JsonSerializable(typeof(OpenAiErrorResponse))]
internal sealed partial class OpenAiErrorJsonContext : JsonSerializerContext;
