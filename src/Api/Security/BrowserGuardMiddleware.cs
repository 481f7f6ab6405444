using Microsoft.Extensions.Options;
using RnnLmService.Api.Errors;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Api.Security;

/// <summary>
/// What a web page in the user's browser must not do to this service. (1) A state-changing request (POST, PUT,
/// PATCH, DELETE) that the browser marks cross-site (<c>Sec-Fetch-Site: cross-site</c> or <c>same-site</c>, or an
/// <c>Origin</c> other than the request's own host) is refused with 403 <c>cross_site_request</c> unless its origin is in
/// <c>RnnLm:Cors:Origins</c>: bodyless POSTs and multipart uploads are "simple requests" a page can send without asking.
/// (2) While the service is open because it listens on loopback without keys, a request whose <c>Host</c> is not a
/// loopback name is refused with 403 <c>host_not_allowed</c> (DNS rebinding: a page whose name resolves to 127.0.0.1).
/// Clients that are not browsers send neither header and are not affected.
/// </summary>
internal sealed class BrowserGuardMiddleware(RequestDelegate next, IOptions<RnnLmOptions> options, AccessMode access)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var request = http.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method)
            && IsCrossSite(request) && !IsAllowedOrigin(request.Headers.Origin.ToString()))
            throw new ForbiddenException(
                "Cross-site requests that change state are refused; list the page's origin in RnnLm:Cors:Origins to allow it.",
                "cross_site_request");

        if (!options.Value.Auth.AllowAnonymous && request.Host.HasValue && !AccessMode.IsLoopbackHost(request.Host.Host)
            && await access.IsOpenAsync(http.RequestAborted))
            throw new ForbiddenException(
                "Without API keys this service answers only to loopback host names (localhost, 127.0.0.1, [::1]); configure "
                + "RnnLm:Auth:Keys or RnnLm:Auth:AllowAnonymous to serve other names.", "host_not_allowed");

        await next(http);
    }

    private static bool IsCrossSite(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0) return site is "cross-site" or "same-site";
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return false;
        return !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private bool IsAllowedOrigin(string origin)
    {
        var allowed = options.Value.Cors.Origins;
        return origin.Length > 0 && (allowed.Contains("*") || allowed.Any(o => string.Equals(o.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase)));
    }
}
