using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Errors;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Api.Security;

/// <summary>A concurrency limit a route counts against (endpoint metadata read by the global limiter).</summary>
public sealed record ConcurrencyLimit(string Category);

/// <summary>
/// Per-key limits (<c>RnnLm:Limits</c>) with ASP.NET Core rate limiting, counted per key (per client IP without one):
/// fixed one-minute windows for inference and for submissions, and concurrency limits for inference in flight,
/// uploads in flight and event streams. Beyond a limit: 429 with <c>Retry-After</c> through the one error path.
/// The local user of a service open only on loopback is not limited: the limits protect a shared service.
/// </summary>
public static class RateLimits
{
    private const string InferencePolicy = "inference";
    private const string SubmissionPolicy = "submission";
    private const string InferenceCategory = "inference";
    private const string UploadCategory = "uploads";
    private const string EventsCategory = "events";

    /// <summary>Counts against <c>InferencePerMinute</c> and <c>ConcurrentInference</c>.</summary>
    public static TBuilder WithInferenceLimits<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireRateLimiting(InferencePolicy).WithMetadata(new ConcurrencyLimit(InferenceCategory));

    /// <summary>Counts against <c>SubmissionsPerMinute</c> (and <c>ConcurrentUploads</c> when <paramref name="upload"/>).</summary>
    public static TBuilder WithSubmissionLimits<TBuilder>(this TBuilder builder, bool upload = false) where TBuilder : IEndpointConventionBuilder
    {
        builder.RequireRateLimiting(SubmissionPolicy);
        return upload ? builder.WithMetadata(new ConcurrencyLimit(UploadCategory)) : builder;
    }

    /// <summary>A Server-Sent Events request counts against <c>EventStreams</c> while it is open.</summary>
    public static TBuilder WithEventStreamLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ConcurrencyLimit(EventsCategory));

    /// <summary>Registers the policies, the per-key concurrency limiter and the 429 answer.</summary>
    public static IServiceCollection AddRnnLmRateLimits(this IServiceCollection services)
    {
        services.AddRateLimiter(o =>
        {
            o.AddPolicy(InferencePolicy, http => PerMinute(http, InferencePolicy, Limits(http).InferencePerMinute));
            o.AddPolicy(SubmissionPolicy, http => PerMinute(http, SubmissionPolicy, Limits(http).SubmissionsPerMinute));
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(Concurrency);
            o.OnRejected = (context, _) => throw Rejected(context);
        });
        return services;
    }

    private static LimitOptions Limits(HttpContext http) => http.RequestServices.GetRequiredService<IOptions<RnnLmOptions>>().Value.Limits;

    private static string Caller(HttpContext http) =>
        http.User.FindFirst(ApiKeyAuthenticationHandler.PartitionClaim)?.Value ?? "ip:" + http.Connection.RemoteIpAddress;

    private static bool Unlimited(HttpContext http) => Caller(http) == ApiKeyAuthenticationHandler.LocalPartition;

    /// <summary>Who a request counts against (the key, or the client IP without one); null for the unlimited local user.</summary>
    public static string? LimitedCaller(HttpContext http) => Unlimited(http) ? null : Caller(http);

    private static RateLimitPartition<string> PerMinute(HttpContext http, string policy, int permits) =>
        permits <= 0 || Unlimited(http)
            ? RateLimitPartition.GetNoLimiter(policy)
            : RateLimitPartition.GetFixedWindowLimiter($"{policy}|{permits}|{Caller(http)}", _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            });

    private static RateLimitPartition<string> Concurrency(HttpContext http)
    {
        var category = http.GetEndpoint()?.Metadata.GetMetadata<ConcurrencyLimit>()?.Category;
        if (category == EventsCategory && !http.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
            category = null; // the JSON form of the events route is a plain read
        var limits = Limits(http);
        var permits = category switch
        {
            InferenceCategory => limits.ConcurrentInference,
            UploadCategory => limits.ConcurrentUploads,
            EventsCategory => limits.EventStreams,
            _ => 0,
        };
        return category is null || permits <= 0 || Unlimited(http)
            ? RateLimitPartition.GetNoLimiter("none")
            : RateLimitPartition.GetConcurrencyLimiter($"{category}|{permits}|{Caller(http)}", _ => new ConcurrencyLimiterOptions
            {
                PermitLimit = permits,
                QueueLimit = 0,
            });
    }

    private static RateLimitedException Rejected(OnRejectedContext context)
    {
        if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry))
        {
            var setting = context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<ConcurrencyLimit>()?.Category == InferenceCategory
                ? "InferencePerMinute" : "SubmissionsPerMinute";
            return new RateLimitedException(
                $"This key has used its requests for this minute (RnnLm:Limits:{setting}); retry after {Math.Ceiling(retry.TotalSeconds)} s.", retry);
        }
        var category = context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<ConcurrencyLimit>()?.Category;
        var name = category switch { InferenceCategory => "ConcurrentInference", UploadCategory => "ConcurrentUploads", _ => "EventStreams" };
        return new RateLimitedException(
            $"This key has too many requests of this kind in flight (RnnLm:Limits:{name}); retry when one has finished.",
            TimeSpan.FromSeconds(1), "too_many_concurrent_requests");
    }
}
