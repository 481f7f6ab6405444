using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Worker.Jobs;

namespace RnnLmService.Worker;

/// <summary>Registers the <c>RnnLm</c> options (both hosts) and the training worker.</summary>
public static class TrainingServices
{
    /// <summary>Binds the <c>RnnLm</c> section and validates it, nested sections included, when the host starts (a bad value stops the host with the key named).</summary>
    public static IServiceCollection AddRnnLmOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RnnLmOptions>().Bind(configuration.GetSection(RnnLmOptions.SectionName)).ValidateOnStart();
        // Binding appends to lists, and a host may bind the section more than once: the lists are read once more, last.
        services.PostConfigure<RnnLmOptions>(o =>
        {
            var section = configuration.GetSection(RnnLmOptions.SectionName);
            o.Auth.Keys = section.GetSection("Auth:Keys").Get<List<ConfiguredApiKey>>() ?? [];
            o.Cors.Origins = section.GetSection("Cors:Origins").Get<List<string>>() ?? [];
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RnnLmOptions>, RnnLmOptionsValidator>());
        return services;
    }

    /// <summary>
    /// The hosted <see cref="TrainingWorker"/> and its parts. It runs when <c>RnnLm:Worker:Enabled</c> (default true)
    /// or <paramref name="standalone"/> is true (the worker executable, which then also leaves no core to serving).
    /// Needs the store (<c>AddRnnLmStore</c>).
    /// </summary>
    public static IServiceCollection AddTrainingWorker(this IServiceCollection services, bool standalone = false)
    {
        services.TryAddSingleton(new TrainingWorkerSwitch(standalone));
        services.TryAddSingleton(sp => new JobPaths(sp.GetRequiredService<IOptions<RnnLmOptions>>().Value.DataPath));
        services.TryAddSingleton<ModelPublisher>();
        services.TryAddSingleton<DataDirectoryJanitor>();
        services.TryAddSingleton<DeadClaimReaper>();
        services.TryAddSingleton<Func<int, ChildSupervisor>>(sp => threads => new ChildSupervisor(
            sp.GetRequiredService<JobStore>(), sp.GetRequiredService<DatasetStore>(), sp.GetRequiredService<ModelVersionStore>(),
            sp.GetRequiredService<ModelPublisher>(), sp.GetRequiredService<JobPaths>(), sp.GetRequiredService<IArtifactStore>(),
            sp.GetRequiredService<IOptions<RnnLmOptions>>().Value.Worker, threads,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ChildSupervisor>>(),
            sp.GetRequiredService<IOptions<RnnLmOptions>>().Value.Storage is { IsS3: true } storage ? storage.S3 : null));
        services.AddHostedService<TrainingWorker>();
        return services;
    }
}

/// <summary>Whether the worker runs regardless of <c>RnnLm:Worker:Enabled</c> (the standalone worker process).</summary>
public sealed record TrainingWorkerSwitch(bool IgnoreEnabledSetting);
