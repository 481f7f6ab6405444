using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RnnLmService.Core;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using Serilog;
using Serilog.Formatting.Compact;

namespace RnnLmService.Worker;

/// <summary>
/// The training worker as its own process: same data directory and store as the API, the worker always on.
/// (A named class rather than top-level statements: .NET 10 makes a top-level <c>Program</c> public, which would
/// clash with the API's <c>Program</c> in the API tests.)
/// </summary>
public static class WorkerProgram
{
    public static async Task<int> Main(string[] args)
    {
        NativeRuntime.EnsureLoadedOrExit();
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSerilog((_, log) =>
        {
            log.ReadFrom.Configuration(builder.Configuration).Enrich.FromLogContext();
            if (Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER") == "true") log.WriteTo.Console(new CompactJsonFormatter());
            else log.WriteTo.Console();
        });
        builder.Services.AddTrainingServices(builder.Configuration, runWorker: true);
        // Room for a running job to write its shutdown checkpoint and release itself.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));
        var host = builder.Build();

        try
        {
            await host.Services.MigrateStoreAsync();
        }
        catch (Exception e) when (e is StoreUnavailableException or InvalidSettingException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        await host.RunAsync();
        return 0;
    }
}
