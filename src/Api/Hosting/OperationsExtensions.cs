using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;
using RnnLmService.Api.Serving;

namespace RnnLmService.Api.Hosting;

/// <summary>Health checks, Prometheus metrics and the error pipeline: the operational surface of the host.</summary>
public static class OperationsExtensions
{
    private static readonly Lazy<bool> MeterAdapter = new(() =>
    {
        // Histogram buckets for our instruments; everything else keeps prometheus-net's defaults.
        Metrics.ConfigureMeterAdapter(o => o.ResolveHistogramBuckets = instrument =>
            instrument.Name == ServingMetrics.BatchSizeName ? ServingMetrics.BatchSizeBuckets : MeterAdapterOptions.DefaultHistogramBuckets);
        return true;
    });

    /// <summary>Health checks (tag <c>ready</c> for readiness), the serving instruments and the Prometheus meter adapter.</summary>
    public static IServiceCollection AddRnnLmOperations(this IServiceCollection services)
    {
        _ = MeterAdapter.Value;
        services.AddMetrics();
        services.AddSingleton<ServingMetrics>();
        services.AddHealthChecks();
        return services;
    }

    /// <summary>
    /// Correlation id, request logging, errors as problem details, routing, per-endpoint HTTP metrics,
    /// body limits and Swagger, in that order.
    /// </summary>
    public static WebApplication UseRnnLmPipeline(this WebApplication app)
    {
        app.UseMiddleware<CorrelationIdMiddleware>();
        app.UseRnnLmRequestLogging();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRnnLmSwagger();
        app.UseRouting();
        app.UseHttpMetrics(); // http_requests_received_total and http_request_duration_seconds per endpoint
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        return app;
    }
}
