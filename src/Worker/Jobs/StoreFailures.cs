using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Polly;
using Polly.Retry;

namespace RnnLmService.Worker.Jobs;

/// <summary>What counts as the store being away for a while, and the retry used for the writes that must happen.</summary>
public static class StoreFailures
{
    /// <summary>
    /// The store could not be reached or answered with a transient error. Npgsql's EF Core execution strategy wraps
    /// such errors (a server shutting down, a refused connection) in an <see cref="InvalidOperationException"/>
    /// ("likely due to a transient failure"), so the wrapper counts when it carries a database error.
    /// </summary>
    public static bool IsTransient(Exception e) =>
        e is DbException or DbUpdateException or TimeoutException
        || (e is InvalidOperationException && e.InnerException is DbException or DbUpdateException or TimeoutException);

    /// <summary>Retries a store write for about a minute and a half with exponential back-off.</summary>
    public static readonly ResiliencePipeline Retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = 12,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(10),
            UseJitter = true,
        })
        .Build();
}
