using System.Diagnostics;
using System.Threading.Channels;
using RnnLmService.Api.Errors;

namespace RnnLmService.Api.Serving;

/// <summary>Limits of one scheduler.</summary>
/// <param name="MaxBatchSize">Most items run together.</param>
/// <param name="MaxBatchWait">Longest the first item of a batch waits for others to join.</param>
/// <param name="QueueCapacity">Items queued before <see cref="QueueFullException"/>.</param>
/// <param name="MaxBatchTokens">Most padded tokens (largest cost × items) in a batch of an operation that prices its items.</param>
public sealed record SchedulerSettings(int MaxBatchSize, TimeSpan MaxBatchWait, int QueueCapacity, int MaxBatchTokens = int.MaxValue);

/// <summary>
/// Runs one model's inference on a dedicated OS thread. Requests are queued in a bounded channel (full:
/// <see cref="QueueFullException"/>); the thread collects up to <see cref="SchedulerSettings.MaxBatchSize"/>
/// items of the same operation, waiting at most <see cref="SchedulerSettings.MaxBatchWait"/> after the first
/// one arrived, runs them as one batch and completes each caller's task. Items that have a cost (tokens) are
/// grouped by it: the oldest item's batch takes the items closest to it in length while the padded tokens
/// (longest × count) stay within <see cref="SchedulerSettings.MaxBatchTokens"/>; an item above the budget runs alone. Live streams (generation) are
/// advanced together, one step per loop, between batches. Cancelled requests are dropped before they run.
/// Everything the model does happens on this one thread, which also owns its LibTorch thread settings.
/// </summary>
public sealed class InferenceScheduler : IDisposable
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly string name;
    private readonly SchedulerSettings settings;
    private readonly Action? threadStart;
    private readonly ServingMetrics? metrics;
    private readonly ILogger logger;
    private readonly Channel<WorkItem> queue;
    private readonly Thread thread;
    private int queued;
    private int liveStreams;

    /// <param name="name">The model key, used for the thread name and metric labels.</param>
    /// <param name="settings">Batching and queue limits.</param>
    /// <param name="threadStart">Runs once on the scheduler thread before any work (e.g. <c>torch.set_num_threads</c>).</param>
    /// <param name="metrics">Batch-size, queue-depth and token instruments (optional).</param>
    /// <param name="logger">Logger.</param>
    public InferenceScheduler(string name, SchedulerSettings settings, Action? threadStart, ServingMetrics? metrics, ILogger logger)
    {
        this.name = name;
        this.settings = settings;
        this.threadStart = threadStart;
        this.metrics = metrics;
        this.logger = logger;
        queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(settings.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping anything
            SingleReader = true,
        });
        thread = new Thread(Loop) { IsBackground = true, Name = $"inference {name}" };
        thread.Start();
    }

    /// <summary>Items waiting in the queue.</summary>
    public int QueueDepth => Volatile.Read(ref queued);

    /// <summary>Streams being stepped right now.</summary>
    public int LiveStreams => Volatile.Read(ref liveStreams);

    /// <summary>Queues one input of a batched operation; the task completes when its batch has run.</summary>
    public Task<TOut> RunAsync<TIn, TOut>(BatchOperation<TIn, TOut> operation, TIn input, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var item = new BatchItem<TIn, TOut>(operation, input, cancellationToken);
        Enqueue(item);
        return item.Task;
    }

    /// <summary>Runs <paramref name="action"/> on the scheduler thread (loading, disposing, anything touching the model).</summary>
    public Task<T> InvokeAsync<T>(Func<T> action, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var item = new BatchItem<Func<T>, T>(InvokeOperation<T>.Instance, action, cancellationToken);
        Enqueue(item);
        return item.Task;
    }

    /// <summary>
    /// Starts a stream: <paramref name="start"/> creates its state on the scheduler thread, then the
    /// scheduler steps it with the operation's other live streams. Read the steps from the returned handle;
    /// disposing it (or cancelling the read) stops the stream.
    /// </summary>
    /// <param name="operation">The stream operation.</param>
    /// <param name="start">Creates the stream (scheduler thread).</param>
    /// <param name="closed">Runs once when the consumer lets go of the stream (e.g. frees a live-stream slot).</param>
    public StreamHandle<TStep> Start<TStream, TStep>(StreamOperation<TStream, TStep> operation, Func<TStream> start, Action? closed = null)
    {
        var item = new StreamItem<TStream, TStep>(operation, start);
        Enqueue(item);
        var once = 0;
        return new StreamHandle<TStep>(item.Output, () =>
        {
            item.Abandon();
            if (Interlocked.Exchange(ref once, 1) == 0) closed?.Invoke();
        });
    }

    private void Enqueue(WorkItem item)
    {
        item.EnqueuedAt = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref queued);
        if (queue.Writer.TryWrite(item))
        {
            metrics?.QueueChanged(name, +1);
            return;
        }
        Interlocked.Decrement(ref queued);
        if (queue.Reader.Completion.IsCompleted || IsClosed)
            throw new ModelNotReadyException($"Model '{name}' is being unloaded.", RetryAfter);
        metrics?.Rejected(name);
        throw new QueueFullException($"Model '{name}' has {settings.QueueCapacity} requests queued; try again shortly.", RetryAfter);
    }

    private bool IsClosed { get; set; }

    private volatile bool streamsStopped;

    /// <summary>Ends every live stream at the next loop (their readers get 503 "unloaded") and refuses new ones; batches still run.</summary>
    public void StopStreams() => streamsStopped = true;

    /// <summary>Stops accepting work, lets the thread finish what is queued and waits for it.</summary>
    public void Dispose()
    {
        IsClosed = true;
        queue.Writer.TryComplete();
        if (Thread.CurrentThread != thread)
            thread.Join();
    }

    private void Loop()
    {
        try
        {
            threadStart?.Invoke();
        }
        catch (Exception e)
        {
            logger.LogError(e, "Inference thread of {Model} failed to start", name);
        }

        var pending = new List<WorkItem>();
        var live = new List<StreamItem>();
        var inputOpen = true;
        while (true)
        {
            if (pending.Count == 0 && live.Count == 0)
            {
                if (!inputOpen || !WaitForWork(Timeout.InfiniteTimeSpan))
                    break;
            }
            Drain(pending);
            DropDone(pending);
            StartStreams(pending, live);
            if (streamsStopped) StopLive(live);

            if (pending.Count > 0)
            {
                var operation = pending[0].Operation;
                var batch = SelectBatch(pending, operation);
                var waitLeft = settings.MaxBatchWait - Stopwatch.GetElapsedTime(pending[0].EnqueuedAt);
                var queueEmpty = pending.Count < settings.MaxBatchSize;
                if (batch.Count < settings.MaxBatchSize && queueEmpty && waitLeft > TimeSpan.Zero && live.Count == 0 && inputOpen)
                {
                    inputOpen = WaitForWork(waitLeft);
                    continue;
                }
                pending.RemoveAll(batch.Contains);
                if (operation.CountsAsInference) metrics?.RecordBatch(name, operation.Name, batch.Count);
                operation.RunBatch(batch);
            }

            StepStreams(live);
            Volatile.Write(ref liveStreams, live.Count);
        }
        Volatile.Write(ref liveStreams, 0);

        foreach (var item in pending)
            item.Fail(new ModelNotReadyException($"Model '{name}' was unloaded.", RetryAfter));
        foreach (var stream in live)
            stream.Release();
    }

    /// <summary>Blocks until an item can be read (true), the timeout passes (true) or the queue is closed and empty (false).</summary>
    private bool WaitForWork(TimeSpan timeout)
    {
        if (queue.Reader.TryPeek(out _))
            return true;
        using var timer = timeout == Timeout.InfiniteTimeSpan ? null : new CancellationTokenSource(timeout);
        try
        {
            return queue.Reader.WaitToReadAsync(timer?.Token ?? CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>
    /// The next batch of <paramref name="operation"/>: the oldest item and, in order of closeness to its cost, the others
    /// while the count stays within MaxBatchSize and the padded tokens within MaxBatchTokens (costless items: in order).
    /// </summary>
    private List<WorkItem> SelectBatch(List<WorkItem> pending, SchedulerOperation operation)
    {
        var candidates = pending.Where(i => i.Operation == operation).ToList();
        if (candidates.All(i => i.Cost == 0)) return candidates.Take(settings.MaxBatchSize).ToList();
        var first = candidates[0];
        var batch = new List<WorkItem> { first };
        var longest = first.Cost;
        foreach (var item in candidates.Skip(1).OrderBy(i => Math.Abs(i.Cost - first.Cost)))
        {
            if (batch.Count >= settings.MaxBatchSize) break;
            var padded = (long)Math.Max(longest, item.Cost) * (batch.Count + 1);
            if (padded > settings.MaxBatchTokens) continue;
            batch.Add(item);
            longest = Math.Max(longest, item.Cost);
        }
        return batch;
    }

    private void Drain(List<WorkItem> pending)
    {
        // A few batches' worth is kept in view so that batches can be grouped by length.
        while (pending.Count < settings.MaxBatchSize * 4 && queue.Reader.TryRead(out var item))
        {
            Interlocked.Decrement(ref queued);
            metrics?.QueueChanged(name, -1);
            pending.Add(item);
        }
    }

    private static void DropDone(List<WorkItem> pending) => pending.RemoveAll(i => i.IsDone);

    private void StopLive(List<StreamItem> live)
    {
        foreach (var stream in live)
        {
            stream.Fail(new ModelNotReadyException($"Model '{name}' was unloaded.", RetryAfter));
            stream.Release();
        }
        live.Clear();
    }

    private void StartStreams(List<WorkItem> pending, List<StreamItem> live)
    {
        foreach (var stream in pending.OfType<StreamItem>().ToList())
        {
            pending.Remove(stream);
            try
            {
                stream.Start();
                live.Add(stream);
            }
            catch (Exception e)
            {
                stream.Fail(e);
                stream.Release();
            }
        }
    }

    private void StepStreams(List<StreamItem> live)
    {
        foreach (var done in live.Where(s => s.IsDone).ToList())
        {
            live.Remove(done);
            done.Release();
        }
        foreach (var group in live.GroupBy(s => s.Operation).ToList())
        {
            foreach (var chunk in group.Chunk(settings.MaxBatchSize))
            {
                metrics?.RecordBatch(name, group.Key.Name, chunk.Length);
                var steps = group.Key.StepStreams(chunk);
                metrics?.TokensGenerated(name, steps);
            }
        }
        foreach (var done in live.Where(s => s.IsDone).ToList())
        {
            live.Remove(done);
            done.Release();
        }
    }

    /// <summary>Runs arbitrary functions on the scheduler thread, one after another, each with its own outcome.</summary>
    private sealed class InvokeOperation<T>() : SchedulerOperation("invoke")
    {
        public static readonly InvokeOperation<T> Instance = new();

        internal override bool CountsAsInference => false;

        internal override void RunBatch(IReadOnlyList<WorkItem> batch)
        {
            foreach (var item in batch.Cast<BatchItem<Func<T>, T>>())
            {
                try
                {
                    item.Complete(item.Input());
                }
                catch (Exception e)
                {
                    item.Fail(e);
                }
            }
        }
    }
}

/// <summary>The consumer's end of a stream started on an <see cref="InferenceScheduler"/>.</summary>
public sealed class StreamHandle<TStep>(ChannelReader<TStep> steps, Action abandon) : IDisposable
{
    /// <summary>The steps as they are produced; ends after the last one, throws if the stream failed.</summary>
    public async IAsyncEnumerable<TStep> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            await foreach (var step in steps.ReadAllAsync(cancellationToken))
                yield return step;
        }
        finally
        {
            abandon();
        }
    }

    /// <summary>Waits for the next step; null when the stream has ended.</summary>
    public async ValueTask<(bool Ok, TStep? Step)> ReadAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            if (await steps.WaitToReadAsync(cancellationToken) && steps.TryRead(out var step))
                return (true, step);
            return (false, default);
        }
        catch
        {
            abandon();
            throw;
        }
    }

    /// <summary>Stops the stream (the scheduler drops it at its next step).</summary>
    public void Dispose() => abandon();
}
