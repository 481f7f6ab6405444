using System.Collections.Concurrent;
using System.Text.Json;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Store;

/// <summary>The job store's contract, run against each provider by the subclasses below.</summary>
public abstract class JobStoreTests(string provider, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private TestStore? _store;

    protected TestStore Store => _store!;

    public async Task InitializeAsync() => _store = await TestStore.CreateAsync(provider, output);

    public async Task DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
    }

    /// <summary>True when this provider's server is absent and the test should end here (noted in its output).</summary>
    private bool Unavailable => _store is null;

    private static NewTrainingJob Job(string model = "m", int priority = 0, string? key = null, string dataset = "d1") =>
        new(model, dataset, """{"epochs":1}""", priority, false, key);

    [Fact]
    public async Task Claims_highest_priority_first_then_oldest()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var a = await jobs.EnqueueAsync(Job("a"));
        var b = await jobs.EnqueueAsync(Job("b"));
        var urgent = await jobs.EnqueueAsync(Job("urgent", priority: 5));
        var c = await jobs.EnqueueAsync(Job("c"));

        var order = new List<string>();
        while (await jobs.ClaimAsync("w1", Lease) is { } job) order.Add(job.Id);

        Assert.Equal([urgent.Id, a.Id, b.Id, c.Id], order);
        var claimed = (await jobs.GetAsync(a.Id))!;
        Assert.Equal(JobStatus.Running, claimed.Status);
        Assert.Equal("w1", claimed.ClaimedBy);
        Assert.Equal(1, claimed.Attempts);
        Assert.NotNull(claimed.StartedAt);
        Assert.NotNull(claimed.LeaseUntil);
    }

    [Fact]
    public async Task Enqueue_with_the_same_unique_key_returns_the_first_job()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var first = await jobs.EnqueueAsync(Job("starter", key: "starter-model"));
        var second = await jobs.EnqueueAsync(Job("starter", key: "starter-model"));
        var other = await jobs.EnqueueAsync(Job("starter"));
        var yetAnother = await jobs.EnqueueAsync(Job("starter"));

        Assert.Equal(first.Id, second.Id);
        Assert.NotEqual(other.Id, yetAnother.Id); // no key: no dedup
        Assert.Equal(3, (await jobs.ListAsync()).Total);
    }

    [Fact]
    public async Task Replicas_enqueueing_one_key_at_once_create_one_job()
    {
        if (Unavailable) return;
        var ids = RunConcurrently(4, i => new JobStore(Store.NewFactory()).EnqueueAsync(Job("starter", key: "starter")).GetAwaiter().GetResult().Id);
        Assert.Single(ids.Distinct());
        Assert.Equal(1, (await Store.Jobs().ListAsync()).Total);
    }

    [Fact]
    public async Task Three_claimers_racing_on_twenty_jobs_run_each_exactly_once()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var queued = new List<string>();
        for (var i = 0; i < 20; i++) queued.Add((await jobs.EnqueueAsync(Job($"m{i}"))).Id);

        var claims = new ConcurrentBag<(int Worker, string Job)>();
        RunConcurrently(3, worker =>
        {
            var store = new JobStore(Store.NewFactory()); // its own connections, as another process
            while (store.ClaimAsync($"w{worker}", Lease).GetAwaiter().GetResult() is { } job)
            {
                claims.Add((worker, job.Id));
                Assert.True(store.CompleteSucceededAsync(job.Id, job.ClaimToken!, Version(job.ModelName, 1), false, 10.0).GetAwaiter().GetResult());
            }
            return 0;
        });

        Assert.Equal(20, claims.Count);
        Assert.Equal(queued.Order(), claims.Select(c => c.Job).Order());
        var page = await jobs.ListAsync(JobStatus.Succeeded, 0, 100);
        Assert.Equal(20, page.Total);
        Assert.All(page.Items, j => Assert.Equal(1, j.Attempts));
        output.WriteLine(string.Join(", ", claims.GroupBy(c => c.Worker).Select(g => $"w{g.Key}: {g.Count()}")));
    }

    [Fact]
    public async Task An_expired_lease_makes_the_job_claimable_again_with_one_more_attempt()
    {
        if (Unavailable) return;
        var clock = new ManualClock();
        var jobs = Store.Jobs(clock);
        var job = await jobs.EnqueueAsync(Job());
        Assert.Equal(job.Id, (await Claim(jobs, "w1"))!.Id);
        Assert.Null(await jobs.ClaimAsync("w2", Lease)); // held

        clock.Advance(Lease / 2);
        await jobs.HeartbeatAsync(job.Id, T["w1"], Lease); // renewed: still held after the first lease would have ended
        clock.Advance(Lease * 0.75);
        Assert.Null(await jobs.ClaimAsync("w2", Lease));

        clock.Advance(Lease * 2); // w1 went silent
        var again = await Claim(jobs, "w2");
        Assert.NotNull(again);
        Assert.Equal(job.Id, again.Id);
        Assert.Equal(2, again.Attempts);
        Assert.Equal("w2", again.ClaimedBy);

        // The old owner finds out at its next heartbeat and can no longer write.
        await Assert.ThrowsAsync<LeaseLostException>(() => jobs.HeartbeatAsync(job.Id, T["w1"], Lease));
        Assert.False(await jobs.CompleteFailedAsync(job.Id, T["w1"], "late"));
        Assert.False(await jobs.UpdateProgressAsync(job.Id, T["w1"], Progress(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1));
        Assert.True(await jobs.CompleteSucceededAsync(job.Id, T["w2"], Version("m", 1), false, 5.5));
    }

    [Fact]
    public async Task Heartbeat_reports_a_cancel_request_of_a_running_job()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var job = await jobs.EnqueueAsync(Job());
        await Claim(jobs, "w1");
        Assert.False((await jobs.HeartbeatAsync(job.Id, T["w1"], Lease)).CancelRequested);

        var flagged = await jobs.RequestCancelAsync(job.Id);
        Assert.Equal(JobStatus.Running, flagged.Status); // the worker stops it
        Assert.True(flagged.CancelRequested);
        Assert.True((await jobs.HeartbeatAsync(job.Id, T["w1"], Lease)).CancelRequested);

        Assert.True(await jobs.CompleteCancelledAsync(job.Id, T["w1"]));
        Assert.Equal(JobStatus.Cancelled, (await jobs.GetAsync(job.Id))!.Status);
    }

    [Fact]
    public async Task Cancel_of_queued_running_finished_and_unknown_jobs()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var queued = await jobs.EnqueueAsync(Job("q"));
        var cancelled = await jobs.RequestCancelAsync(queued.Id);
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.NotNull(cancelled.FinishedAt);
        Assert.Null(await jobs.ClaimAsync("w1", Lease)); // a cancelled job is never claimed

        var running = await jobs.EnqueueAsync(Job("r"));
        await Claim(jobs, "w1");
        Assert.True((await jobs.RequestCancelAsync(running.Id)).CancelRequested);

        var done = await jobs.EnqueueAsync(Job("d"));
        await Claim(jobs, "w1");
        await jobs.CompleteSucceededAsync(done.Id, T["w1"], Version("d", 1), false, 3.0);
        var conflict = await Assert.ThrowsAsync<ConflictException>(() => jobs.RequestCancelAsync(done.Id));
        Assert.Contains("succeeded", conflict.Message);
        await Assert.ThrowsAsync<ConflictException>(() => jobs.RequestCancelAsync(queued.Id)); // cancelled is finished too

        await Assert.ThrowsAsync<NotFoundException>(() => jobs.RequestCancelAsync("nope"));
    }

    [Fact]
    public async Task A_running_job_whose_worker_vanished_after_a_cancel_request_ends_cancelled()
    {
        if (Unavailable) return;
        var clock = new ManualClock();
        var jobs = Store.Jobs(clock);
        var job = await jobs.EnqueueAsync(Job());
        await Claim(jobs, "w1");
        await jobs.RequestCancelAsync(job.Id);
        clock.Advance(Lease * 2);

        Assert.Null(await jobs.ClaimAsync("w2", Lease));
        Assert.Equal(JobStatus.Cancelled, (await jobs.GetAsync(job.Id))!.Status);
    }

    [Fact]
    public async Task Release_puts_the_job_back_in_the_queue_for_the_next_worker()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var job = await jobs.EnqueueAsync(Job());
        await Claim(jobs, "w1");
        await jobs.UpdateProgressAsync(job.Id, T["w1"], Progress(2, 3, 20, 30, 4.2, 80, 75, 1000, 20, 12.5), 12.5);
        Assert.True(await jobs.ReleaseAsync(job.Id, T["w1"]));

        var released = (await jobs.GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Queued, released.Status);
        Assert.Null(released.ClaimedBy);
        Assert.Equal(2, released.Epoch); // progress kept: the next worker resumes from the checkpoint
        var next = await Claim(jobs, "w2");
        Assert.Equal(job.Id, next!.Id);
        Assert.Equal(2, next.Attempts);
        Assert.False(await jobs.ReleaseAsync(job.Id, T["w1"]));
    }

    [Fact]
    public async Task A_progress_report_without_a_number_keeps_the_last_one()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var job = await jobs.EnqueueAsync(Job());
        await Claim(jobs, "w1");
        await jobs.UpdateProgressAsync(job.Id, T["w1"], Progress(1, 2, 10, 20, 4.0, 90.5, 90.5, 1000, 20, 3), 3);
        await jobs.UpdateProgressAsync(job.Id, T["w1"], Progress(2, 2, 12, 20, 3.5, null, null, 1100, 20, 4), 4);
        var j = (await jobs.GetAsync(job.Id))!;
        Assert.Equal((2, 12L, 3.5, 90.5, 90.5), (j.Epoch, j.Step, j.TrainLoss!.Value, j.ValidPerplexity!.Value, j.BestValidPerplexity!.Value));
    }

    [Fact]
    public async Task Events_after_a_cursor_come_in_order()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var job = await jobs.EnqueueAsync(Job());
        var other = await jobs.EnqueueAsync(Job("other"));
        await Claim(jobs, "w1");
        for (var i = 1; i <= 5; i++)
            await jobs.UpdateProgressAsync(job.Id, T["w1"], Progress(1, 1, i, 5, 5.0 / i, null, null, 100, 20, i), i);
        await jobs.MarkResumedAsync(job.Id, T["w1"], 1, 3);
        await jobs.CompleteSucceededAsync(job.Id, T["w1"], Version("m", 1), false, 42.0);

        var all = await jobs.EventsAfterAsync(job.Id);
        Assert.Equal(["status", "status", "progress", "progress", "progress", "progress", "progress", "resumed", "status"], all.Select(e => e.Type));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Id < p.Second.Id));
        Assert.All(all, e => Assert.Equal(job.Id, e.JobId));
        Assert.Equal("queued", Status(all[0]));
        Assert.Equal("running", Status(all[1]));
        Assert.Equal("succeeded", Status(all[^1]));
        Assert.Equal("epoch 1, step 3", (await jobs.GetAsync(job.Id))!.ResumedFrom);

        var rest = await jobs.EventsAfterAsync(job.Id, all[4].Id);
        Assert.Equal(all.Skip(5).Select(e => e.Id), rest.Select(e => e.Id));
        Assert.Empty(await jobs.EventsAfterAsync(job.Id, all[^1].Id));
        Assert.Single(await jobs.EventsAfterAsync(other.Id)); // only its own "queued"
    }

    [Fact]
    public async Task List_filters_by_status_and_pages_newest_first()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add((await jobs.EnqueueAsync(Job($"m{i}"))).Id);
        await Claim(jobs, "w1"); // the oldest

        var page1 = await jobs.ListAsync(JobStatus.Queued, 0, 2);
        var page2 = await jobs.ListAsync(JobStatus.Queued, 2, 2);
        Assert.Equal(4, page1.Total);
        Assert.Equal([ids[4], ids[3]], page1.Items.Select(j => j.Id));
        Assert.Equal([ids[2], ids[1]], page2.Items.Select(j => j.Id));
        Assert.Equal([ids[0]], (await jobs.ListAsync(JobStatus.Running)).Items.Select(j => j.Id));
    }

    [Fact]
    public async Task Versions_allocated_concurrently_are_unique_and_consecutive()
    {
        if (Unavailable) return;
        var versions = RunConcurrently(3, worker =>
        {
            var store = new ModelVersionStore(Store.NewFactory());
            var mine = new List<int>();
            for (var i = 0; i < 5; i++)
                mine.Add(store.RegisterAsync("shared", "{}", null, false, v => $"models/shared/{v}").GetAwaiter().GetResult().Version);
            return mine;
        }).SelectMany(v => v).ToList();

        Assert.Equal(Enumerable.Range(1, 15), versions.Order());
        var recorded = await Store.Versions().ListAsync("shared");
        Assert.Equal(15, recorded.Count);
        Assert.All(recorded, r => Assert.Equal($"models/shared/{r.Version}", r.ArtifactPath));
    }

    [Fact]
    public async Task Promote_sets_the_default_model_and_what_a_bare_name_resolves_to()
    {
        if (Unavailable) return;
        var versions = Store.Versions();
        await versions.RegisterAsync("lm", """{"testPerplexity":90}""", null, promote: true, v => $"models/lm/{v}");
        await versions.RegisterAsync("lm", """{"testPerplexity":80}""", null, promote: false, v => $"models/lm/{v}");
        Assert.Equal("lm", await versions.GetDefaultModelAsync());
        Assert.Equal(1, (await versions.GetAsync("lm"))!.Version); // promoted wins over newest

        await versions.PromoteAsync("lm", 2);
        Assert.Equal(2, (await versions.GetAsync("lm"))!.Version);
        Assert.Single(await versions.ListAsync("lm"), v => v.Promoted);
        await Assert.ThrowsAsync<NotFoundException>(() => versions.PromoteAsync("lm", 9));

        // A failed placement registers nothing.
        await Assert.ThrowsAsync<IOException>(() => versions.RegisterAsync("lm", "{}", null, false, (Func<int, string>)(_ => throw new IOException("disk full"))));
        Assert.Equal(2, (await versions.ListAsync("lm")).Count);
    }

    [Fact]
    public async Task Version_numbers_are_never_reused_after_a_delete()
    {
        if (Unavailable) return;
        var versions = Store.Versions();
        Assert.Equal(1, (await versions.RegisterAsync("x", "{}", null, false, v => $"models/x/{v}")).Version);
        Assert.Equal(2, (await versions.RegisterAsync("x", "{}", null, false, v => $"models/x/{v}")).Version);
        Assert.True(await versions.DeleteAsync("x", 2));

        // A finishing job after the delete of x@2 gets x@3, not 2 again (its directory could still be in a reader's hands).
        var jobs = Store.Jobs();
        var job = await jobs.EnqueueAsync(Job("x"));
        await Claim(jobs, "w1");
        var number = await versions.ReserveVersionAsync("x");
        Assert.Equal(3, number);
        Assert.True(await jobs.CompleteSucceededAsync(job.Id, T["w1"], Version("x", number), false, 9.0));
        Assert.Equal([3, 1], (await versions.ListAsync("x")).Select(v => v.Version));
    }

    [Fact]
    public async Task Only_the_current_claim_completes_and_a_job_never_gets_two_versions()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs(Clock);
        var job = await jobs.EnqueueAsync(Job("one"));
        await Claim(jobs, "w1");
        Clock.Advance(Lease * 2); // w1 still runs, but its lease has passed
        await Claim(jobs, "w2");
        Assert.NotEqual(T["w1"], T["w2"]);

        // The first owner's late writes change nothing: no progress, no checkpoint mark, no version, no success.
        Assert.False(await jobs.MarkCheckpointAsync(job.Id, T["w1"], 1, 5, 5));
        Assert.False(await jobs.CompleteSucceededAsync(job.Id, T["w1"], Version("one", 1), false, 3.0));
        Assert.Null(await jobs.RecordCrashAsync(job.Id, T["w1"], "late", 3, _ => TimeSpan.Zero));
        Assert.Empty(await Store.Versions().ListAsync("one"));

        Assert.True(await jobs.CompleteSucceededAsync(job.Id, T["w2"], Version("one", 2), false, 3.0));
        var done = (await jobs.GetAsync(job.Id))!;
        Assert.Equal((JobStatus.Succeeded, 2), (done.Status, done.ProducedModelVersion));
        // Even a second version row for the same job is refused by the unique index.
        await using var db = Store.Factory.CreateDbContext();
        db.ModelVersions.Add(Version("one", 3));
        db.ModelVersions.Local.Single().JobId = job.Id;
        await Assert.ThrowsAnyAsync<Microsoft.EntityFrameworkCore.DbUpdateException>(() => db.SaveChangesAsync());
    }

    [Fact]
    public async Task Crashes_without_a_new_checkpoint_back_off_and_fail_the_job_at_the_limit()
    {
        if (Unavailable) return;
        var jobs = Store.Jobs(Clock);
        var job = await jobs.EnqueueAsync(Job("crashy"));
        var backoff = TimeSpan.FromSeconds(30);

        // Crash 1, with a checkpoint made in the attempt: progress, so it does not count.
        await Claim(jobs, "w1");
        Assert.True(await jobs.MarkCheckpointAsync(job.Id, T["w1"], 1, 10, 10));
        var first = (await jobs.RecordCrashAsync(job.Id, T["w1"], "killed.", 2, _ => backoff))!;
        Assert.Equal((false, 0), (first.Failed, first.Crashes));
        Assert.Null(await jobs.ClaimAsync("w2", Lease)); // backing off
        Clock.Advance(backoff);

        // Crashes 2 and 3 made no progress: the second one of them reaches the limit of 2.
        await Claim(jobs, "w2");
        var second = (await jobs.RecordCrashAsync(job.Id, T["w2"], "killed.", 2, _ => backoff))!;
        Assert.Equal((false, 1), (second.Failed, second.Crashes));
        Clock.Advance(backoff);
        await Claim(jobs, "w3");
        var third = (await jobs.RecordCrashAsync(job.Id, T["w3"], "The training process was killed by signal 9.", 2, _ => backoff))!;
        Assert.True(third.Failed);
        var failed = (await jobs.GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.StartsWith("The training process was killed by signal 9.", failed.FailureReason);
        Assert.Contains("2 time(s)", failed.FailureReason);
    }

    private readonly ManualClock Clock = new();
    private readonly Dictionary<string, string> T = [];

    /// <summary>Claims as <paramref name="worker"/> and remembers the claim's token in <see cref="T"/>.</summary>
    private async Task<TrainingJobRecord?> Claim(JobStore jobs, string worker)
    {
        var job = await jobs.ClaimAsync(worker, Lease);
        if (job is not null) T[worker] = job.ClaimToken!;
        return job;
    }

    private static ModelVersionRecord Version(string name, int version) =>
        new() { Name = name, Version = version, ArtifactPath = $"models/{name}/{version}", MetricsJson = "{}" };

    private static RnnLmService.Core.Training.TrainingProgress Progress(int epoch, int totalEpochs, long step, long totalSteps, double loss,
        double? valid, double? best, double speed, double lr, double _) =>
        new(RnnLmService.Core.Training.ProgressKind.Step, epoch, (int)step, (int)(totalSteps / totalEpochs), step, totalSteps, loss, lr, speed, valid, best);

    private static string? Status(JobEventRecord e) =>
        JsonDocument.Parse(e.PayloadJson).RootElement.GetProperty("status").GetString();

    /// <summary>Runs <paramref name="count"/> threads released together by a barrier; returns their results.</summary>
    internal static T[] RunConcurrently<T>(int count, Func<int, T> body)
    {
        using var barrier = new Barrier(count);
        var results = new T[count];
        var errors = new ConcurrentBag<Exception>();
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            try
            {
                barrier.SignalAndWait();
                results[i] = body(i);
            }
            catch (Exception e) { errors.Add(e); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromMinutes(2)), "a racing thread hung"));
        if (!errors.IsEmpty) throw new AggregateException(errors);
        return results;
    }
}

public sealed class SqliteJobStoreTests(ITestOutputHelper output) : JobStoreTests(StoreProviders.Sqlite, output);

public sealed class PostgresJobStoreTests(ITestOutputHelper output) : JobStoreTests(StoreProviders.Postgres, output);
