using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Serving;

namespace RnnLmService.Api.Tests.Serving;

public class InferenceSchedulerTests
{
    private static InferenceScheduler Create(int maxBatch = 16, int waitMs = 20, int capacity = 256, Action? threadStart = null) =>
        new("test", new SchedulerSettings(maxBatch, TimeSpan.FromMilliseconds(waitMs), capacity), threadStart, null, NullLogger.Instance);

    [Fact]
    public async Task Concurrent_submissions_form_batches_larger_than_one_and_each_gets_its_own_answer()
    {
        var sizes = new ConcurrentBag<int>();
        var threads = new ConcurrentBag<int>();
        var square = new BatchOperation<int, int>("square", xs =>
        {
            sizes.Add(xs.Count);
            threads.Add(Environment.CurrentManagedThreadId);
            return xs.Select(x => x * x).ToList();
        });
        using var scheduler = Create();

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => scheduler.RunAsync(square, i))));

        Assert.Equal(Enumerable.Range(0, 64).Select(i => i * i), answers);
        Assert.Equal(64, sizes.Sum());
        Assert.Contains(sizes, s => s > 1);
        Assert.All(sizes, s => Assert.InRange(s, 1, 16));
        Assert.Single(threads.Distinct());
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads.First());
    }

    [Fact]
    public async Task Thread_start_runs_once_on_the_scheduler_thread()
    {
        var startThread = -1;
        var starts = 0;
        using var scheduler = Create(threadStart: () => { startThread = Environment.CurrentManagedThreadId; starts++; });
        var workThread = await scheduler.InvokeAsync(() => Environment.CurrentManagedThreadId);
        await scheduler.InvokeAsync(() => 0);
        Assert.Equal(startThread, workThread);
        Assert.Equal(1, starts);
    }

    [Fact]
    public async Task A_full_queue_refuses_with_QueueFullException()
    {
        using var gate = new ManualResetEventSlim();
        var blocking = new BatchOperation<int, int>("block", xs => { gate.Wait(); return xs.ToList(); });
        using var scheduler = Create(maxBatch: 1, waitMs: 0, capacity: 2);

        var first = scheduler.RunAsync(blocking, 0);          // taken by the thread, blocks there
        await WaitUntil(() => scheduler.QueueDepth == 0);
        var queued = new[] { scheduler.RunAsync(blocking, 1), scheduler.RunAsync(blocking, 2) };
        var error = Assert.Throws<QueueFullException>(() => { _ = scheduler.RunAsync(blocking, 3); });
        Assert.Equal(TimeSpan.FromSeconds(1), error.RetryAfter);

        gate.Set();
        var all = await Task.WhenAll(queued.Prepend(first));
        Assert.Equal(new[] { 0, 1, 2 }, all);
    }

    [Fact]
    public async Task A_cancelled_request_is_dropped_and_never_runs()
    {
        using var gate = new ManualResetEventSlim();
        var ran = new ConcurrentBag<int>();
        var op = new BatchOperation<int, int>("op", xs => { gate.Wait(); foreach (var x in xs) ran.Add(x); return xs.ToList(); });
        using var scheduler = Create(maxBatch: 1, waitMs: 0);

        var first = scheduler.RunAsync(op, 1);
        await WaitUntil(() => scheduler.QueueDepth == 0);
        using var cts = new CancellationTokenSource();
        var cancelled = scheduler.RunAsync(op, 2, cts.Token);
        var third = scheduler.RunAsync(op, 3);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        gate.Set();
        await Task.WhenAll(first, third);
        Assert.Equal(new[] { 1, 3 }, ran.Order());
    }

    [Fact]
    public async Task One_failing_input_does_not_fail_its_batch_neighbours()
    {
        var op = new BatchOperation<int, int>("op", xs => xs.Any(x => x < 0) ? throw new ArgumentException("negative") : xs.ToList());
        using var scheduler = Create(maxBatch: 8, waitMs: 50);
        var good = scheduler.RunAsync(op, 1);
        var bad = scheduler.RunAsync(op, -1);
        Assert.Equal(1, await good);
        await Assert.ThrowsAsync<ArgumentException>(() => bad);
    }

    [Fact]
    public async Task Streams_are_stepped_together_until_their_last_step()
    {
        var stepSizes = new ConcurrentBag<int>();
        var limited = new StreamOperation<Counter, (int Value, bool Last)>("count", streams =>
        {
            stepSizes.Add(streams.Count);
            return streams.Select(s => (++s.Value, s.Value >= s.Limit)).ToList();
        }, step => step.Last);
        using var scheduler = Create();

        var handles = Enumerable.Range(1, 4).Select(n => scheduler.Start(limited, () => new Counter { Limit = 5 * n })).ToList();
        var results = await Task.WhenAll(handles.Select(async h => await h.ReadAllAsync().Select(s => s.Value).ToListAsync()));

        for (var n = 1; n <= 4; n++)
            Assert.Equal(Enumerable.Range(1, 5 * n), results[n - 1]);
        Assert.Contains(stepSizes, s => s > 1);
    }

    [Fact]
    public async Task A_stream_whose_reader_stops_is_dropped_and_disposed()
    {
        var counter = new Counter { Limit = int.MaxValue };
        var endless = new StreamOperation<Counter, int>("endless", streams => streams.Select(s => ++s.Value).ToList(), _ => false);
        using var scheduler = Create();
        using var cts = new CancellationTokenSource();

        var handle = scheduler.Start(endless, () => counter);
        var read = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in handle.ReadAllAsync(cts.Token))
                if (++read == 3) cts.Cancel();
        });

        await WaitUntil(() => counter.Disposed);
        var stoppedAt = counter.Value;
        await Task.Delay(50);
        Assert.Equal(stoppedAt, counter.Value);
    }

    [Fact]
    public async Task Unloading_finishes_queued_work_then_refuses_new_work()
    {
        var op = new BatchOperation<int, int>("op", xs => xs.ToList());
        var scheduler = Create();
        var queued = scheduler.RunAsync(op, 7);
        scheduler.Dispose();
        Assert.Equal(7, await queued);
        Assert.Throws<ModelNotReadyException>(() => { _ = scheduler.RunAsync(op, 8); });
    }

    [Fact]
    public async Task Batches_are_grouped_by_length_under_the_token_budget_and_a_long_input_runs_alone()
    {
        using var gate = new ManualResetEventSlim();
        var batches = new ConcurrentQueue<int[]>();
        var op = new BatchOperation<int, int>("priced", xs => { gate.Wait(); batches.Enqueue([.. xs]); return xs.ToList(); }, cost: x => x);
        using var scheduler = new InferenceScheduler("test", new SchedulerSettings(8, TimeSpan.Zero, 256, MaxBatchTokens: 100), null, null, NullLogger.Instance);

        var first = scheduler.RunAsync(op, 10);                     // runs alone while the rest queue up behind the gate
        await WaitUntil(() => scheduler.QueueDepth == 0);
        int[] costs = [12, 48, 11, 500, 13, 47, 14, 46];
        var rest = costs.Select(c => scheduler.RunAsync(op, c)).ToList();
        gate.Set();
        await Task.WhenAll(rest.Append(first));

        var formed = batches.Skip(1).ToList();
        Assert.Equal(costs.Order(), formed.SelectMany(b => b).Order());
        Assert.All(formed, b => Assert.True(b.Length == 1 || b.Max() * b.Length <= 100, $"batch [{string.Join(", ", b)}] over budget"));
        Assert.Contains(formed, b => b.SequenceEqual([500]));       // over the budget: alone
        Assert.Contains(formed, b => b.Order().SequenceEqual([11, 12, 13, 14])); // the short ones together, without the long
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
            await Task.Delay(10);
        Assert.True(condition());
    }

    private sealed class Counter : IDisposable
    {
        public int Value;
        public int Limit;
        public volatile bool Disposed;
        public void Dispose() => Disposed = true;
    }
}
