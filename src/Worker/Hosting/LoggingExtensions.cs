using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace RnnLmService.Worker.Hosting;

/// <summary>Serilog: console output, one request-log line per request, the correlation id on every event.</summary>
public static class LoggingExtensions
{
    /// <summary>
    /// Logs to the console through Serilog. <c>RnnLm:LogFormat</c> (<c>RnnLm__LogFormat</c>) chooses
    /// <c>json</c> (compact JSON, one event per line, for log collectors) or <c>text</c>; when unset, JSON is
    /// used inside containers (<c>DOTNET_RUNNING_IN_CONTAINER=true</c>, set by the .NET images) and text
    /// elsewhere. Levels and extra sinks can be set in the <c>Serilog</c> configuration section.
    /// </summary>
    public static WebApplicationBuilder AddRnnLmLogging(this WebApplicationBuilder builder)
    {
        var format = builder.Configuration["RnnLm:LogFormat"];
        var json = string.Equals(format, "json", StringComparison.OrdinalIgnoreCase)
            || (string.IsNullOrEmpty(format) && string.Equals(Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER"), "true", StringComparison.OrdinalIgnoreCase));

        builder.Services.AddSerilog((services, log) =>
        {
            log.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
                // An unready replica is a state /health/ready reports, not an error to log on every probe.
                .MinimumLevel.Override("Microsoft.Extensions.Diagnostics.HealthChecks", LogEventLevel.Fatal)
                .ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext();
            if (json)
                log.WriteTo.Console(new RenderedCompactJsonFormatter());
            else
                log.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {CorrelationId}{NewLine}{Exception}");
        });
        return builder;
    }

    /// <summary>One log line per request with method, path, status, elapsed time and correlation id.</summary>
    public static IApplicationBuilder UseRnnLmRequestLogging(this IApplicationBuilder app) =>
        app.UseSerilogRequestLogging(o =>
        {
            o.GetLevel = (http, _, error) =>
                http.Request.Path.StartsWithSegments("/health") || http.Request.Path.StartsWithSegments("/metrics") ? LogEventLevel.Verbose
                : error is not null || http.Response.StatusCode >= 500 && http.Response.StatusCode != 503 ? LogEventLevel.Error
                : LogEventLevel.Information;
            o.EnrichDiagnosticContext = (diagnostics, http) => diagnostics.Set("CorrelationId", http.TraceIdentifier);
        });
}
