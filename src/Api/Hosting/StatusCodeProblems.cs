using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// Gives the problems that no exception produced (status code pages: a path no route matches, a method the route does not
/// take, a body minimal-API binding refuses for its Content-Type) the same fields as every other problem: a <c>code</c>
/// and a <c>detail</c> that says what to do.
/// </summary>
internal static class StatusCodeProblems
{
    public static void Complete(ProblemDetails problem, HttpContext http)
    {
        if (problem.Extensions.ContainsKey("code")) return;
        var request = http.Request;
        var (code, detail) = problem.Status switch
        {
            StatusCodes.Status404NotFound => ("route_not_found",
                $"No route matches {request.Method} {Shorten(request.Path)}; the routes are listed at /swagger."),
            StatusCodes.Status405MethodNotAllowed => ("method_not_allowed",
                $"{Shorten(request.Path)} does not take {request.Method}; the routes are listed at /swagger."),
            StatusCodes.Status415UnsupportedMediaType => ("unsupported_media_type",
                $"This endpoint reads {Accepts(http)}; send the body with that Content-Type (was '{Shorten(request.ContentType ?? "none")}')."),
            _ => ($"http_{problem.Status}", problem.Title ?? "The request failed."),
        };
        problem.Extensions["code"] = code;
        problem.Detail ??= detail;
    }

    private static string Accepts(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>() is { ContentTypes.Count: > 0 } accepts
            ? string.Join(" or ", accepts.ContentTypes)
            : "application/json";

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 200 ? text : text[..200] + "…";
}
