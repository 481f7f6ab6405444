using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using RnnLmService.Core.Configuration;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// Endpoint metadata for a body the handler reads as a raw stream: the media types and a description for the OpenAPI
/// document (see <see cref="RawRequestBodyFilter"/>). Not <c>Accepts</c> metadata, which would make routing answer other
/// media types with a bare 415 before the handler can answer problem+json.
/// </summary>
public sealed record RawRequestBody(string Description, params string[] MediaTypes);

/// <summary>Declares a <see cref="RawRequestBody"/> endpoint's body as binary content of its media types.</summary>
internal sealed class RawRequestBodyFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<RawRequestBody>().FirstOrDefault() is not { } body) return;
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = body.Description,
            Content = body.MediaTypes.ToDictionary(m => m, _ => new OpenApiMediaType
            {
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" },
            }),
        };
    }
}

/// <summary>An endpoint's request body limit taken from options at each request (for <see cref="RequestBodyLimitMiddleware"/>).</summary>
public sealed class ConfiguredBodyLimit(IServiceProvider services, Func<RnnLmOptions, long> limit) : IRequestSizeLimitMetadata
{
    /// <inheritdoc />
    public long? MaxRequestBodySize => limit(services.GetRequiredService<IOptions<RnnLmOptions>>().Value);
}
