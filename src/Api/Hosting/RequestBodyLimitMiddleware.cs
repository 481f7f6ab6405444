using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// Applies the request body limit: <c>RnnLm:Serving:MaxRequestBodyBytes</c> for every endpoint, or the
/// endpoint's own <see cref="IRequestSizeLimitMetadata"/> (e.g. dataset uploads). Kestrel enforces the limit
/// while the body streams in; a declared <c>Content-Length</c> above it is refused at once. Both surface as a
/// 413 through the exception handler.
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<RnnLmOptions> options)
{
    public Task InvokeAsync(HttpContext http)
    {
        var limit = http.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize
            ?? options.Value.Serving.MaxRequestBodyBytes;
        var feature = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
            feature.MaxRequestBodySize = limit;
        if (limit is { } max && http.Request.ContentLength > max)
            throw new BadHttpRequestException($"The request body is larger than {max} bytes.", StatusCodes.Status413PayloadTooLarge);
        return next(http);
    }
}
