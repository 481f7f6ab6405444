using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;
using RnnLmService.Api.Security;
using RnnLmService.Api.Serving;
using RnnLmService.Worker.Hosting;

namespace RnnLmService.Api.Hosting;

/// <summary>Health checks, Prometheus metrics and the error pipeline: the operational surface of the host.</summary>
public static class OperationsExtensions
{
    // prometheus-net's registry is process-wide: publish the serving meter into it once per process, with
    // batch-size buckets (1, 2, 4, ...) instead of the adapter's default time-like buckets.
    private static readonly Lazy<IDisposable> MeterAdapter = new(() => Prometheus.MeterAdapter.StartListening(new MeterAdapterOptions
    {
        InstrumentFilterPredicate = instrument => instrument.Meter.Name == ServingMetrics.MeterName,
        ResolveHistogramBuckets = instrument =>
            instrument.Name == ServingMetrics.BatchSizeName ? ServingMetrics.BatchSizeBuckets : MeterAdapterOptions.DefaultHistogramBuckets,
    }));

    /// <summary>Health checks (tag <c>ready</c> for readiness), the serving instruments and the Prometheus meter adapter.</summary>
    public static IServiceCollection AddRnnLmOperations(this IServiceCollection services)
    {
        _ = MeterAdapter.Value;
        services.AddMetrics();
        services.AddSingleton<ServingMetrics>();
        services.AddHostedService<FreedMemoryReturner>();
        services.AddHealthChecks();
        return services;
    }

    /// <summary>
    /// Correlation id, request logging, errors as problem details, routing, security (CORS, keys, the browser
    /// guard, Swagger, roles, limits), per-endpoint HTTP metrics and body limits, in that order.
    /// </summary>
    public static WebApplication UseRnnLmPipeline(this WebApplication app)
    {
        app.UseMiddleware<CorrelationIdMiddleware>();
        app.UseRnnLmRequestLogging();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseRnnLmSecurity(docs => docs.UseRnnLmSwagger());
        app.UseHttpMetrics(); // http_requests_received_total and http_request_duration_seconds per endpoint
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseMiddleware<JsonBodyCheckMiddleware>(); // /api bodies: checked field by field before binding
        return app;
    }
}
