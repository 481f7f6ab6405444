using System.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace RnnLmService.Api.Errors;

/// <summary>
/// The fields every problem carries, wherever it is written (the exception handler, status code pages, the
/// authorization and rate-limit answers, and the <c>error</c> event of a stream): <c>type</c>, <c>title</c>,
/// <c>status</c>, <c>detail</c>, <c>instance</c>, <c>code</c>, <c>traceId</c> and <c>correlationId</c>.
/// </summary>
public static class ProblemShape
{
    /// <summary>Fills what <paramref name="problem"/> lacks from its status and the request.</summary>
    public static ProblemDetails Complete(ProblemDetails problem, HttpContext http, int? status = null)
    {
        var code = problem.Status ?? status ?? http.Response.StatusCode;
        problem.Status ??= code;
        problem.Type ??= $"https://httpstatuses.io/{code}";
        problem.Title ??= ReasonPhrases.GetReasonPhrase(code) is { Length: > 0 } phrase ? phrase : "Error";
        problem.Detail ??= DefaultDetail(code, http);
        problem.Instance ??= http.Request.Path;
        if (!problem.Extensions.ContainsKey("code")) problem.Extensions["code"] = DefaultCode(code);
        problem.Extensions["traceId"] = Activity.Current?.Id ?? http.TraceIdentifier;
        problem.Extensions["correlationId"] = http.TraceIdentifier;
        return problem;
    }

    private static string DefaultCode(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "bad_request",
        StatusCodes.Status401Unauthorized => "invalid_api_key",
        StatusCodes.Status403Forbidden => "forbidden",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status413PayloadTooLarge => "body_too_large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status429TooManyRequests => "rate_limited",
        >= 500 => "internal_error",
        _ => "error",
    };

    private static string DefaultDetail(int status, HttpContext http) => status switch
    {
        StatusCodes.Status404NotFound => $"There is no route {http.Request.Method} {Shorten(http.Request.Path)}; /swagger lists the routes.",
        StatusCodes.Status405MethodNotAllowed => $"{Shorten(http.Request.Path)} does not take {http.Request.Method}; /swagger lists the methods of each route.",
        StatusCodes.Status415UnsupportedMediaType =>
            $"Send the body {(Accepts(http) == "application/json" ? "as JSON " : "")}with the header Content-Type: {Accepts(http)} (was {(string.IsNullOrEmpty(http.Request.ContentType) ? "no Content-Type" : $"'{Shorten(http.Request.ContentType)}'")}).",
        _ => ReasonPhrases.GetReasonPhrase(status),
    };

    /// <summary>The content types the matched endpoint reads (a multipart upload, JSON), as its metadata declares them.</summary>
    private static string Accepts(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>() is { ContentTypes.Count: > 0 } accepts
            ? string.Join(" or ", accepts.ContentTypes)
            : "application/json";

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 200 ? text : text[..200] + "…";
}
