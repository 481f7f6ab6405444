using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RnnLmService.Core;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Worker.Child;
using RnnLmService.Worker.Hosting;

namespace RnnLmService.Worker;

/// <summary>
/// The training worker as its own process: same data directory and store as the API, the worker always on, and
/// <c>/health/live</c> and <c>/health/ready</c> on its own port (<c>ASPNETCORE_URLS</c>/<c>ASPNETCORE_HTTP_PORTS</c>,
/// else http://localhost:5080). <c>RnnLmService.Worker.dll probe URL</c> is the container health check (the runtime
/// image has no curl): exit 0 when the URL answers 2xx. <c>RnnLmService.Worker.dll run-job</c> is a job's training
/// process, started by a worker (<see cref="ChildProtocol"/>). Invalid settings end the process with exit code 2 and
/// one line naming each bad key.
/// (A named class rather than top-level statements: .NET 10 makes a top-level <c>Program</c> public, which would
/// clash with the API's <c>Program</c> in the API tests.)
/// </summary>
public static class WorkerProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["probe", var url, ..]) return await ProbeAsync(url);
        if (args is [ChildProtocol.RunJobVerb, ..]) return JobProcess.Run();

        NativeRuntime.EnsureLoadedOrExit();
        var builder = WebApplication.CreateBuilder(args);
        builder.AddRnnLmLogging();
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
            builder.WebHost.UseUrls("http://localhost:5080"); // not the API's default port, so both run on one machine
        builder.Services.AddRnnLmOptions(builder.Configuration).AddRnnLmStore().AddTrainingWorker(standalone: true);
        // Room for running jobs' processes to write their shutdown checkpoints and be released.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));
        var app = builder.Build();

        try
        {
            _ = app.Services.GetRequiredService<IOptions<RnnLmOptions>>().Value; // invalid settings stop here, named
            await app.Services.MigrateStoreAsync();
        }
        catch (OptionsValidationException e)
        {
            Console.Error.WriteLine($"Invalid settings: {string.Join(" ", e.Failures)}");
            return 2;
        }
        catch (Exception e) when (e is StoreUnavailableException or InvalidSettingException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" }));
        app.MapGet("/health/ready", async (StoreDbContextFactory store, CancellationToken ct) =>
        {
            await using var db = store.CreateDbContext();
            return await db.Database.CanConnectAsync(ct)
                ? Results.Ok(new { status = "ready" })
                : Results.Problem("The store cannot be reached.", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        await app.RunAsync();
        return 0;
    }

    /// <summary>GET <paramref name="url"/>; 0 when it answers 2xx within 4 seconds, else 1.</summary>
    private static async Task<int> ProbeAsync(string url)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(4) };
            using var response = await http.GetAsync(url);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException or InvalidOperationException)
        {
            Console.Error.WriteLine($"probe {url}: {e.Message}");
            return 1;
        }
    }
}
