using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Api.Models;

/// <summary>A loaded version and the count of requests using it.</summary>
internal sealed class LoadedModel(ModelVersionRecord record, IServedModel model)
{
    private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int users;
    private bool closing;

    public ModelVersionRecord Record { get; } = record;
    public IServedModel Model { get; } = model;

    /// <summary>Loaded explicitly (POST load, or <c>name@version</c>): not unloaded when a newer version appears.</summary>
    public bool Pinned { get; set; }

    public bool TryAcquire()
    {
        lock (drained)
        {
            if (closing) return false;
            users++;
            return true;
        }
    }

    public void Release()
    {
        lock (drained)
        {
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

/// <summary>A request's hold on a loaded version; dispose it when the request is done.</summary>
public sealed class ModelLease : IDisposable
{
    private readonly LoadedModel entry;
    private int disposed;

    internal ModelLease(ModelVersionRecord record, LoadedModel entry)
    {
        Record = record;
        this.entry = entry;
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
        if (Interlocked.Exchange(ref disposed, 1) == 0) entry.Release();
    }
}
