using Microsoft.Extensions.Diagnostics.HealthChecks;
using RnnLmService.Api.Models;
using RnnLmService.Api.Serving;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Api.Hosting;

/// <summary>The model registry, the engine-backed model loader and the readiness checks.</summary>
public static class ServingExtensions
{
    /// <summary>
    /// Registers <see cref="ModelRegistry"/> (also as the hosted service that polls the store) and the readiness
    /// checks: the store answers, and the default model is loaded. Needs the store (<c>AddRnnLmStore</c>).
    /// </summary>
    public static IServiceCollection AddModelServing(this IServiceCollection services)
    {
        services.AddSingleton<LiveStreamLimit>();
        services.AddSingleton<IServedModelLoader, ServedModelLoader>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<ModelImporter>();
        services.AddSingleton<SweepLatencyProbe>();
        services.AddHostedService(sp => sp.GetRequiredService<ModelRegistry>());
        services.AddHostedService<StarterModelSeeder>();
        services.AddHealthChecks()
            .AddDbContextCheck<RnnLmDbContext>("store", tags: ["ready"])
            .AddCheck<DefaultModelHealthCheck>("default-model", tags: ["ready"]);
        return services;
    }
}

/// <summary>Ready when the default model resolves and is loaded in this process.</summary>
internal sealed class DefaultModelHealthCheck(ModelRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (ready, description) = registry.DefaultModelStatus();
        return Task.FromResult(ready ? HealthCheckResult.Healthy(description) : HealthCheckResult.Unhealthy(description));
    }
}
