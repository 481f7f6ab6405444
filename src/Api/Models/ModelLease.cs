using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Api.Models;

/// <summary>
/// A loaded version, the count of requests using it, when it was last used and until when it is kept loaded
/// (its keep-alive, as Ollama's <c>keep_alive</c>: set by the last request that let go of it).
/// </summary>
internal sealed class LoadedModel(ModelVersionRecord record, IServedModel model, TimeSpan keepAlive)
{
    private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int users;
    private bool closing;
    private DateTime keepUntil = Until(DateTime.UtcNow, keepAlive);

    public ModelVersionRecord Record { get; } = record;
    public IServedModel Model { get; } = model;

    /// <summary>Loaded with POST load and no keep-alive: kept until unloaded, and not unloaded when a newer version appears.</summary>
    public bool Pinned { get; set; }

    /// <summary>When a request last took or let go of it (UTC).</summary>
    public DateTime LastUsed { get; private set; } = DateTime.UtcNow;

    /// <summary>No request is using it.</summary>
    public bool Idle
    {
        get { lock (drained) return users == 0; }
    }

    /// <summary>Idle, not pinned, and its keep-alive has passed at <paramref name="now"/>.</summary>
    public bool Expired(DateTime now)
    {
        lock (drained) return users == 0 && !Pinned && keepUntil <= now;
    }

    /// <summary>Sets the keep-alive from now (negative: until unloaded); an explicit keep-alive also unpins it.</summary>
    public void KeepAlive(TimeSpan keepAlive)
    {
        lock (drained)
        {
            keepUntil = Until(DateTime.UtcNow, keepAlive);
            Pinned = false;
        }
    }

    private static DateTime Until(DateTime now, TimeSpan keepAlive) =>
        keepAlive < TimeSpan.Zero || keepAlive > DateTime.MaxValue - now ? DateTime.MaxValue : now + keepAlive;

    public bool TryAcquire()
    {
        lock (drained)
        {
            if (closing) return false;
            users++;
            LastUsed = DateTime.UtcNow;
            return true;
        }
    }

    /// <summary>A request lets go; <paramref name="keepAlive"/> is its explicit keep-alive, null keeps the current one or extends it by <paramref name="defaultKeepAlive"/>.</summary>
    public void Release(TimeSpan? keepAlive, TimeSpan defaultKeepAlive)
    {
        lock (drained)
        {
            var now = DateTime.UtcNow;
            LastUsed = now;
            if (keepAlive is { } explicitKeep)
            {
                keepUntil = Until(now, explicitKeep);
                Pinned = false;
            }
            else
            {
                keepUntil = new[] { keepUntil, Until(now, defaultKeepAlive) }.Max();
            }
            if (--users == 0 && closing) drained.TrySetResult();
        }
    }

    /// <summary>Refuses new users and completes when the last one is gone.</summary>
    public Task CloseAsync()
    {
        lock (drained)
        {
            closing = true;
            if (users == 0) drained.TrySetResult();
        }
        return drained.Task;
    }
}

/// <summary>A request's hold on a loaded version; dispose it when the request is done (that sets the version's keep-alive).</summary>
public sealed class ModelLease : IDisposable
{
    private readonly LoadedModel entry;
    private readonly TimeSpan? keepAlive;
    private readonly TimeSpan defaultKeepAlive;
    private readonly Action<LoadedModel> released;
    private int disposed;

    internal ModelLease(ModelVersionRecord record, LoadedModel entry, TimeSpan? keepAlive, TimeSpan defaultKeepAlive, Action<LoadedModel> released)
    {
        Record = record;
        this.entry = entry;
        this.keepAlive = keepAlive;
        this.defaultKeepAlive = defaultKeepAlive;
        this.released = released;
    }

    /// <summary>The version's store record.</summary>
    public ModelVersionRecord Record { get; }

    /// <summary>The loaded model.</summary>
    public IServedModel Model => entry.Model;

    /// <summary><c>name@version</c>.</summary>
    public string Key => ModelAddress.Key(Record.Name, Record.Version);

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        entry.Release(keepAlive, defaultKeepAlive);
        released(entry);
    }
}
