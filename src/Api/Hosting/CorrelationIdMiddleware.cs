using Serilog.Context;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// Gives every request a correlation id: the caller's <c>X-Correlation-Id</c> when it is a sane token
/// (letters, digits, <c>-_.:</c>, at most 128 characters), otherwise a new one. The id becomes the request's
/// <see cref="HttpContext.TraceIdentifier"/> (so problem details carry it as <c>traceId</c>), is returned in
/// the response header and is pushed into the Serilog log context as <c>CorrelationId</c>.
/// </summary>
internal sealed class CorrelationIdMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Correlation-Id";

    public async Task InvokeAsync(HttpContext http)
    {
        var id = http.Request.Headers[HeaderName].ToString();
        if (!IsAcceptable(id))
            id = Guid.NewGuid().ToString("N");
        http.TraceIdentifier = id;
        http.Response.OnStarting(() =>
        {
            http.Response.Headers[HeaderName] = id;
            return Task.CompletedTask;
        });
        using (LogContext.PushProperty("CorrelationId", id))
            await next(http);
    }

    internal static bool IsAcceptable(string id) =>
        id.Length is > 0 and <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}
