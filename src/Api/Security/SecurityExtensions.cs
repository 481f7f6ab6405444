using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Errors;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Keys;
using AspNetCors = Microsoft.AspNetCore.Cors.Infrastructure;

namespace RnnLmService.Api.Security;

/// <summary>API keys and roles, CORS, the browser guard, protected docs and per-key limits.</summary>
public static class SecurityExtensions
{
    /// <summary>
    /// Registers the key store and resolver, the API-key authentication scheme, one authorization policy per role
    /// (<c>read</c>, <c>train</c>, <c>admin</c>; a route without one needs <c>read</c>), 401/403 as problems, CORS from
    /// <c>RnnLm:Cors:Origins</c> (none by default) and the rate limits. Needs the store (<c>AddTrainingServices</c>).
    /// </summary>
    public static IServiceCollection AddRnnLmSecurity(this IServiceCollection services)
    {
        services.AddSingleton(sp => new ApiKeyStore(sp.GetRequiredService<IDbContextFactory<RnnLmDbContext>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ApiKeyResolver>();
        services.AddSingleton<AccessMode>();
        services.AddHostedService<AccessModeStartup>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(o =>
        {
            foreach (var role in ApiKeyRoles.All)
                o.AddPolicy(role, p => p.RequireAuthenticatedUser().RequireRole(role));
            o.FallbackPolicy = o.GetPolicy(ApiKeyRoles.Read);
        });
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        services.AddCors();
        services.AddOptions<AspNetCors.CorsOptions>().Configure<IOptions<RnnLmOptions>>((cors, rnnLm) =>
        {
            var origins = rnnLm.Value.Cors.Origins;
            if (origins.Count == 0) return; // no policy: no CORS headers, browsers keep other sites out
            cors.AddDefaultPolicy(p =>
            {
                if (origins.Contains("*")) p.AllowAnyOrigin(); else p.WithOrigins([.. origins]);
                p.WithMethods("GET", "POST", "PUT", "DELETE")
                    .WithHeaders("Authorization", ApiKeyAuthenticationHandler.ApiKeyHeader, "Content-Type", "Accept", "Last-Event-ID", "X-Correlation-Id")
                    .WithExposedHeaders("Location", "Retry-After", "X-Correlation-Id");
            });
        });
        services.AddRnnLmRateLimits();
        return services;
    }

    /// <summary>CORS, authentication, the browser guard, then (with <paramref name="docs"/> between) authorization and limits.</summary>
    public static IApplicationBuilder UseRnnLmSecurity(this IApplicationBuilder app, Action<IApplicationBuilder> docs)
    {
        app.UseCors();
        app.UseAuthentication();
        app.UseMiddleware<BrowserGuardMiddleware>();
        // Swagger is middleware, not an endpoint: it is guarded here (RnnLm:Auth:ProtectDocs) and served before the
        // authorization middleware, whose fallback policy would otherwise ask every docs request for a key.
        app.Use(GuardDocsAsync);
        docs(app);
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    private static async Task GuardDocsAsync(HttpContext http, RequestDelegate next)
    {
        if (http.Request.Path.StartsWithSegments("/swagger")
            && http.RequestServices.GetRequiredService<IOptions<RnnLmOptions>>().Value.Auth.ProtectDocs)
        {
            if (http.User.Identity?.IsAuthenticated != true)
            {
                var failure = (await http.AuthenticateAsync()).Failure?.Message;
                throw new UnauthorizedException(failure ?? "The API documentation needs a key (RnnLm:Auth:ProtectDocs).");
            }
            if (!http.User.IsInRole(ApiKeyRoles.Read))
                throw new ForbiddenException("The API documentation needs the 'read' role.");
        }
        await next(http);
    }

    /// <summary>Decides open or closed once the server listens, making the first-start key before clients arrive.</summary>
    private sealed class AccessModeStartup(IHostApplicationLifetime lifetime, AccessMode access, ILogger<AccessMode> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() => _ = ObserveAsync());
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private async Task ObserveAsync()
        {
            try { await access.ListensOnLoopbackOnlyAsync(); }
            catch (Exception e) { logger.LogError(e, "Could not decide whether the service is open or make the first-start key"); }
        }
    }
}
