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
    /// The store and, when <c>RnnLm:Worker:Enabled</c> (default true) or <paramref name="runWorker"/> says so, the
    /// hosted <see cref="TrainingWorker"/>. Registers <see cref="StoreDbContextFactory"/> (also as
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

        var enabled = runWorker ?? configuration.GetValue<bool?>($"{RnnLmOptions.SectionName}:Worker:Enabled") ?? true;
        if (enabled)
        {
            services.TryAddSingleton<IJobRunner, TorchJobRunner>();
            services.AddHostedService<TrainingWorker>();
        }
        return services;
    }
}
