using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RnnLmService.Api.Errors;

namespace RnnLmService.Api.Hosting;

/// <summary>Problem details, the one exception handler, and JSON binding that reports bad bodies as exceptions.</summary>
public static class ErrorHandlingExtensions
{
    /// <summary>
    /// Registers <see cref="ApiExceptionHandler"/>, problem details with the correlation id, the
    /// <c>/v1</c> OpenAI error writer (before the default writer so it wins there) and makes minimal-API
    /// binding failures throw so that they reach the handler and name the field.
    /// </summary>
    public static IServiceCollection AddRnnLmErrorHandling(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, OpenAiErrorWriter>());
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Instance ??= c.HttpContext.Request.Path;
            c.ProblemDetails.Extensions["correlationId"] = c.HttpContext.TraceIdentifier;
            StatusCodeProblems.Complete(c.ProblemDetails, c.HttpContext);
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o => o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict);
        return services;
    }
}
