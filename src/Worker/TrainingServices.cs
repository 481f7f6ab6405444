using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Worker;

/// <summary>Registers the store (by provider), the job, dataset and model-version stores, and the training worker.</summary>
public static class TrainingServices
{
    /// <summary>
    /// The store and the hosted <see cref="TrainingWorker"/>, which runs when <c>RnnLm:Worker:Enabled</c> (default true)
    /// or <paramref name="runWorker"/> is true; <paramref name="runWorker"/> false leaves the worker out. Registers <see cref="StoreDbContextFactory"/> (also as
    /// <c>IDbContextFactory&lt;RnnLmDbContext&gt;</c>), a scoped <see cref="RnnLmDbContext"/> for health checks,
    /// <see cref="JobStore"/>, <see cref="ModelVersionStore"/>, <see cref="DatasetStore"/> and <see cref="TimeProvider"/>.
    /// </summary>
    public static IServiceCollection AddTrainingServices(this IServiceCollection services, IConfiguration configuration, bool? runWorker = null)
    {
        services.AddOptions<RnnLmOptions>().Bind(configuration.GetSection(RnnLmOptions.SectionName));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new StoreDbContextFactory(sp.GetRequiredService<IOptions<RnnLmOptions>>().Value));
        services.TryAddSingleton<IDbContextFactory<RnnLmDbContext>>(sp => sp.GetRequiredService<StoreDbContextFactory>());
        services.TryAddScoped(sp => sp.GetRequiredService<StoreDbContextFactory>().CreateDbContext());
        services.TryAddSingleton(sp => new JobStore(sp.GetRequiredService<IDbContextFactory<RnnLmDbContext>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new ModelVersionStore(sp.GetRequiredService<IDbContextFactory<RnnLmDbContext>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new DatasetStore(
            sp.GetRequiredService<IDbContextFactory<RnnLmDbContext>>(),
            sp.GetRequiredService<IOptions<RnnLmOptions>>().Value,
            sp.GetRequiredService<JobStore>(),
            sp.GetRequiredService<TimeProvider>()));

        // The switch is read when the worker starts (so late configuration, e.g. a test host's, counts); the standalone
        // worker passes runWorker: true and ignores it, runWorker: false registers no worker at all.
        if (runWorker != false)
        {
            services.TryAddSingleton<IJobRunner, TorchJobRunner>();
            services.TryAddSingleton(new TrainingWorkerSwitch(runWorker == true));
            services.AddHostedService<TrainingWorker>();
        }
        return services;
    }
}

/// <summary>Whether the worker runs regardless of <c>RnnLm:Worker:Enabled</c> (the standalone worker process).</summary>
public sealed record TrainingWorkerSwitch(bool IgnoreEnabledSetting);
