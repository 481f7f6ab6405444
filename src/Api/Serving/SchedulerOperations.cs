using System.Threading.Channels;

namespace RnnLmService.Api.Serving;

/// <summary>Something an <see cref="InferenceScheduler"/> runs; items of the same operation run together.</summary>
public abstract class SchedulerOperation(string name)
{
    /// <summary>Label for metrics and logs, e.g. <c>next-word</c>.</summary>
    public string Name { get; } = name;

    /// <summary>Whether its batches are recorded in the batch-size histogram (housekeeping such as loading is not).</summary>
    internal virtual bool CountsAsInference => true;

    /// <summary>Runs one batch of this operation's items (scheduler thread).</summary>
    internal abstract void RunBatch(IReadOnlyList<WorkItem> batch);

    /// <summary>Advances each of this operation's streams by one step (scheduler thread); returns the number of steps taken.</summary>
    internal virtual int StepStreams(IReadOnlyList<StreamItem> streams) => 0;
}

/// <summary>
/// A batched request/response operation: inputs submitted with the same instance are handed to
/// <c>run</c> together, which returns one output per input in order. With <c>cost</c> (an input's tokens,
/// computed by the caller's thread) batches are grouped by length under the scheduler's token budget.
/// </summary>
public sealed class BatchOperation<TIn, TOut>(string name, Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> run, Func<TIn, int>? cost = null) : SchedulerOperation(name)
{
    /// <summary>The input's cost in padded tokens (0: not priced).</summary>
    internal int Cost(TIn input) => cost?.Invoke(input) ?? 0;

    internal override void RunBatch(IReadOnlyList<WorkItem> batch)
    {
        var items = batch.Cast<BatchItem<TIn, TOut>>().ToList();
        try
        {
            Complete(items, run(items.Select(i => i.Input).ToList()));
        }
        catch (Exception) when (items.Count > 1)
        {
            // One bad input must not fail its neighbours: retry one by one so each gets its own answer.
            foreach (var item in items)
                RunBatch([item]);
        }
        catch (Exception e)
        {
            items[0].Fail(e);
        }
    }

    private static void Complete(List<BatchItem<TIn, TOut>> items, IReadOnlyList<TOut> outputs)
    {
        if (outputs.Count != items.Count)
            throw new InvalidOperationException($"A batch of {items.Count} returned {outputs.Count} answers.");
        for (var i = 0; i < items.Count; i++)
            items[i].Complete(outputs[i]);
    }
}

/// <summary>
/// A stepped operation (generation): each stream is created on the scheduler thread by its start function,
/// then all live streams of the operation are advanced together by <c>step</c>, one step per scheduler loop,
/// until a step says it is the last (<c>isLast</c>) or the consumer goes away. Streams that are
/// <see cref="IDisposable"/> are disposed on the scheduler thread.
/// </summary>
public sealed class StreamOperation<TStream, TStep>(
    string name, Func<IReadOnlyList<TStream>, IReadOnlyList<TStep>> step, Func<TStep, bool> isLast) : SchedulerOperation(name)
{
    internal override void RunBatch(IReadOnlyList<WorkItem> batch) => throw new InvalidOperationException("Streams are stepped, not batched.");

    internal override int StepStreams(IReadOnlyList<StreamItem> streams)
    {
        var items = streams.Cast<StreamItem<TStream, TStep>>().ToList();
        try
        {
            var steps = step(items.Select(i => i.State!).ToList());
            if (steps.Count != items.Count)
                throw new InvalidOperationException($"Stepping {items.Count} streams returned {steps.Count} steps.");
            for (var i = 0; i < items.Count; i++)
                items[i].Publish(steps[i], isLast(steps[i]));
        }
        catch (Exception e)
        {
            foreach (var item in items)
                item.Fail(e);
        }
        return items.Count;
    }
}

/// <summary>One queued unit of work.</summary>
public abstract class WorkItem(SchedulerOperation operation)
{
    internal SchedulerOperation Operation { get; } = operation;

    /// <summary>When it was queued (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    internal long EnqueuedAt { get; set; }

    /// <summary>Its size in tokens, for grouping batches by length (0: not priced).</summary>
    internal int Cost { get; init; }

    /// <summary>Answered, failed or abandoned by its caller: nothing left to do.</summary>
    internal abstract bool IsDone { get; }

    internal abstract void Fail(Exception error);
}

internal sealed class BatchItem<TIn, TOut> : WorkItem
{
    private readonly TaskCompletionSource<TOut> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenRegistration registration;

    public BatchItem(SchedulerOperation operation, TIn input, CancellationToken cancellationToken) : base(operation)
    {
        Cost = (operation as BatchOperation<TIn, TOut>)?.Cost(input) ?? 0;
        Input = input;
        registration = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
    }

    public TIn Input { get; }

    public Task<TOut> Task => completion.Task;

    internal override bool IsDone => completion.Task.IsCompleted;

    public void Complete(TOut output)
    {
        completion.TrySetResult(output);
        registration.Dispose();
    }

    internal override void Fail(Exception error)
    {
        completion.TrySetException(error);
        registration.Dispose();
    }
}

/// <summary>A live stream; its state lives on the scheduler thread.</summary>
public abstract class StreamItem(SchedulerOperation operation) : WorkItem(operation)
{
    /// <summary>Creates the stream's state on the scheduler thread.</summary>
    internal abstract void Start();

    /// <summary>Releases the stream's state on the scheduler thread.</summary>
    internal abstract void Release();
}

internal sealed class StreamItem<TStream, TStep> : StreamItem
{
    private readonly Func<TStream> start;
    private readonly Channel<TStep> output = Channel.CreateUnbounded<TStep>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private volatile bool finished;
    private volatile bool abandoned;

    public StreamItem(SchedulerOperation operation, Func<TStream> start) : base(operation) => this.start = start;

    public TStream? State { get; private set; }

    public ChannelReader<TStep> Output => output.Reader;

    internal override bool IsDone => finished || abandoned;

    /// <summary>The consumer stopped reading (client disconnected): the scheduler drops the stream.</summary>
    public void Abandon() => abandoned = true;

    internal override void Start() => State = start();

    public void Publish(TStep step, bool last)
    {
        output.Writer.TryWrite(step);
        if (last)
        {
            finished = true;
            output.Writer.TryComplete();
        }
    }

    internal override void Fail(Exception error)
    {
        finished = true;
        output.Writer.TryComplete(error);
    }

    internal override void Release()
    {
        if (!finished) Fail(new OperationCanceledException("The stream was stopped."));
        (State as IDisposable)?.Dispose();
        State = default;
    }
}
