using Microsoft.Extensions.Options;
using RnnLmService.Api.Errors;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Api.Serving;

/// <summary>
/// The process-wide count of live generation streams against <c>RnnLm:Serving:MaxLiveStreams</c>: a stream holds a
/// slot from its start until its reader lets go of it; one more than the limit is refused with 429 and Retry-After.
/// </summary>
public sealed class LiveStreamLimit(IOptions<RnnLmOptions> options)
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);
    private int live;

    /// <summary>Streams holding a slot now.</summary>
    public int Live => Volatile.Read(ref live);

    /// <summary>Takes a slot; throws <see cref="QueueFullException"/> when all are taken. Dispose the result to give it back.</summary>
    public IDisposable Acquire()
    {
        var max = options.Value.Serving.MaxLiveStreams;
        if (Interlocked.Increment(ref live) > max)
        {
            Interlocked.Decrement(ref live);
            throw new QueueFullException($"{max} generations are running (RnnLm:Serving:MaxLiveStreams); try again shortly.", RetryAfter);
        }
        return new Slot(this);
    }

    private sealed class Slot(LiveStreamLimit owner) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) Interlocked.Decrement(ref owner.live);
        }
    }
}
