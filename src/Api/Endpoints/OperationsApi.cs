using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Prometheus;
using RnnLmService.Api.Security;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Api.Endpoints;

/// <summary><c>/health/live</c>, <c>/health/ready</c> and <c>/metrics</c>.</summary>
public static class OperationsApi
{
    /// <summary>Maps the health and metrics endpoints.</summary>
    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Operations").AllowAnyone();
        var protectMetrics = app.ServiceProvider.GetRequiredService<IOptions<RnnLmOptions>>().Value.Auth.ProtectMetrics;
        health.MapGet("/live", Live)
            .WithName("Liveness")
            .WithSummary("Is the process up")
            .WithDescription("Always 200 while the process serves HTTP; for liveness probes. Checks nothing else.");
        health.MapGet("/ready", Ready)
            .WithName("Readiness")
            .WithSummary("Can this replica serve inference")
            .WithDescription("200 when every readiness check passes (the store is reachable and the default model is loaded), otherwise 503 with each check's status; for readiness probes and load balancers.")
            .Produces<HealthResponse>(StatusCodes.Status200OK)
            .Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/metrics", Metrics).RequireReadWhen(protectMetrics)
            .WithTags("Operations")
            .WithName("Metrics")
            .WithSummary("Prometheus metrics")
            .WithDescription("Prometheus text exposition format: HTTP request counts and latency histograms per endpoint "
                + "(http_requests_received_total, http_request_duration_seconds), batch sizes (rnnlm_inference_batch_size), "
                + "queue depth (rnnlm_inference_queue_depth), tokens generated (rnnlm_generated_tokens), models loaded (rnnlm_models_loaded) and process metrics.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        return app;
    }

    private static Ok<HealthResponse> Live() => TypedResults.Ok(new HealthResponse { Status = "Healthy" });

    private static async Task<IResult> Ready(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(c => c.Tags.Contains("ready"), cancellationToken);
        var body = new HealthResponse
        {
            Status = report.Status.ToString(),
            Checks = report.Entries.Select(e => new HealthCheckEntry { Name = e.Key, Status = e.Value.Status.ToString(), Description = e.Value.Description }).ToList(),
        };
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Ok(body)
            : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static PushStreamHttpResult Metrics(CancellationToken cancellationToken) =>
        TypedResults.Stream(body => Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(body, cancellationToken),
            "text/plain; version=0.0.4; charset=utf-8");
}

/// <summary>A health report.</summary>
public sealed class HealthResponse
{
    /// <summary>Overall status: <c>Healthy</c>, <c>Degraded</c> or <c>Unhealthy</c>.</summary>
    /// <example>Healthy</example>
    public required string Status { get; init; }

    /// <summary>Each check's outcome (readiness only).</summary>
    public IReadOnlyList<HealthCheckEntry> Checks { get; init; } = [];
}

/// <summary>One health check's outcome.</summary>
public sealed class HealthCheckEntry
{
    /// <summary>The check's name.</summary>
    /// <example>default-model</example>
    public required string Name { get; init; }

    /// <summary><c>Healthy</c>, <c>Degraded</c> or <c>Unhealthy</c>.</summary>
    /// <example>Healthy</example>
    public required string Status { get; init; }

    /// <summary>Why, when not healthy.</summary>
    /// <example>Default model 'starter' is loaded.</example>
    public string? Description { get; init; }
}
