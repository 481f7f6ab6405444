using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace RnnLmService.Api.Errors;

/// <summary>
/// Writes every problem on <c>/v1/*</c> (and vLLM's <c>/tokenize</c>, <c>/detokenize</c>) in OpenAI's error shape
/// (<c>{"error": {"message", "type", "param", "code"}}</c>) so OpenAI client libraries understand it.
/// Registered before the default problem+json writer; the status code stays the same.
/// </summary>
internal sealed class OpenAiErrorWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => IsOpenAiPath(context.HttpContext.Request.Path);

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        ProblemShape.Complete(context.ProblemDetails, http); // the default writer's customization does not run here
        var error = ToError(context.ProblemDetails, http.Response.StatusCode);
        return new ValueTask(http.Response.WriteAsJsonAsync(error, OpenAiErrorJsonContext.Default.OpenAiErrorResponse));
    }

    internal static bool IsOpenAiPath(PathString path) =>
        path.StartsWithSegments("/v1") || Endpoints.TokenizeApi.Paths.Any(p => path.Equals(p, StringComparison.OrdinalIgnoreCase));

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
        return new OpenAiErrorResponse { Error = new OpenAiError { Message = problem.Detail ?? problem.Title ?? "Error", Type = type, Param = param, Code = code } };
    }
}

/// <summary>OpenAI's error envelope: every error on <c>/v1</c>.</summary>
public sealed class OpenAiErrorResponse
{
    /// <summary>The error.</summary>
    [JsonPropertyName("error")]
    public required OpenAiError Error { get; init; }
}

/// <summary>One error in OpenAI's shape.</summary>
public sealed class OpenAiError
{
    /// <summary>What went wrong, in a sentence.</summary>
    /// <example>max_tokens must be between 0 and 512 (RnnLm:Serving:MaxNewTokens) (was 1000).</example>
    [JsonPropertyName("message")]
    public required string Message { get; init; }

    /// <summary>Error class: <c>invalid_request_error</c>, <c>rate_limit_error</c>, <c>server_error</c>, ...</summary>
    /// <example>invalid_request_error</example>
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    /// <summary>The request field at fault, if any.</summary>
    /// <example>max_tokens</example>
    [JsonPropertyName("param")]
    public string? Param { get; init; }

    /// <summary>A stable code, e.g. <c>invalid_value</c>, <c>model_not_found</c>, <c>queue_full</c>, <c>model_not_ready</c>.</summary>
    /// <example>invalid_value</example>
    [JsonPropertyName("code")]
    public string? Code { get; init; }
}

[JsonSerializable(typeof(OpenAiErrorResponse))]
internal sealed partial class OpenAiErrorJsonContext : JsonSerializerContext;
