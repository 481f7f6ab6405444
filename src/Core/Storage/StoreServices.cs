using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Sweeps;

namespace RnnLmService.Core.Storage;

/// <summary>Registers the store beside the store: the database by provider and the job, dataset and model-version stores.</summary>
public static class StoreServices
{
    /// <summary>
    /// <see cref="StoreDbContextFactory"/> (also as <c>IDbContextFactory&lt;RnnLmDbContext&gt;</c>), a scoped
    /// <see cref="RnnLmDbContext"/> for health checks, <see cref="JobStore"/>, <see cref="ModelVersionStore"/>,
    /// <see cref="DatasetStore"/>, <see cref="SweepStore"/>, the <see cref="IArtifactStore"/> and <see cref="TimeProvider"/>. Needs <c>IOptions&lt;RnnLmOptions&gt;</c>.
    /// </summary>
    public static IServiceCollection AddRnnLmStore(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new StoreDbContextFactory(sp.GetRequiredService<IOptions<RnnLmOptions>>().Value));
        services.TryAddSingleton<IDbContextFactory<RnnLmDbContext>>(sp => sp.GetRequiredService<StoreDbContextFactory>());
        services.TryAddScoped(sp => sp.GetRequiredService<StoreDbContextFactory>().CreateDbContext());
        services.TryAddSingleton(sp => new JobStore(sp.GetRequiredService<IDbContextFactory<RnnLmDbContext>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new ModelVersionStore(sp.GetRequiredService<IDbContextFactory<RnnLmDbContext>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new SweepStore(
            sp.GetRequiredService<IDbContextFactory<RnnLmDbContext>>(), sp.GetRequiredService<JobStore>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new DatasetStore(
            sp.GetRequiredService<IDbContextFactory<RnnLmDbContext>>(),
            sp.GetRequiredService<IOptions<RnnLmOptions>>().Value,
            sp.GetRequiredService<JobStore>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IArtifactStore>()));
        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<RnnLmOptions>>().Value;
            return ArtifactStores.Create(o.Storage, o.DataPath);
        });
        return services;
    }
}
