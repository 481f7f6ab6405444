using Microsoft.EntityFrameworkCore;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Sweeps;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Store;

/// <summary>The sweep store's contract on each provider: a sweep and its ordinary jobs are written together, read back in grid order, cancelled together.</summary>
public abstract class SweepStoreTests(string provider, ITestOutputHelper output) : IAsyncLifetime
{
    private TestStore? _store;

    public async Task InitializeAsync() => _store = await TestStore.CreateAsync(provider, output);

    public async Task DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
    }

    private SweepStore Sweeps(JobStore jobs) => new(_store!.Factory, jobs);

    private static NewSweepPoint Point(int i, string sweep = "sw", string? uniqueKey = null)
    {
        var bptt = 8 * (i + 1);
        return new("{\"training.bptt\": " + bptt + "}", new NewTrainingJob($"{sweep}-{i}", "d1", "{\"training\":{\"bptt\":" + bptt + "}}", UniqueKey: uniqueKey));
    }

    [Fact]
    public async Task A_sweep_queues_one_ordinary_job_per_point_read_back_in_grid_order()
    {
        if (_store is null) return;
        var jobs = _store.Jobs();
        var sweeps = Sweeps(jobs);
        var created = await sweeps.CreateAsync(new NewSweep("sw", "d1", "{}", """{"training.bptt":[8,16,24]}"""), [Point(0), Point(1), Point(2)]);

        var read = (await sweeps.GetAsync(created.Sweep.Id))!;
        Assert.Equal(3, read.Sweep.Points);
        Assert.Equal([0, 1, 2], read.Points.Select(p => p.Point.PointIndex));
        Assert.Equal(["sw-0", "sw-1", "sw-2"], read.Points.Select(p => p.Job.ModelName));
        Assert.All(read.Points, p => Assert.Equal(JobStatus.Queued, p.Job.Status));
        Assert.Contains("\"bptt\":16", read.Points[1].Job.SpecJson);
        Assert.Equal(3, (await jobs.ListAsync(JobStatus.Queued)).Total);

        // Ordinary jobs: any worker claims them; the table follows their status.
        var claimed = (await jobs.ClaimAsync("w1", TimeSpan.FromMinutes(1)))!;
        Assert.Contains(claimed.Id, read.Points.Select(p => p.Job.Id));
        var (items, total) = await sweeps.ListAsync();
        Assert.Equal(1, total);
        Assert.Equal(2, items[0].Jobs[JobStatus.Queued]);
        Assert.Equal(1, items[0].Jobs[JobStatus.Running]);

        await sweeps.RecordLatencyAsync(created.Sweep.Id, 1, 4.5);
        Assert.Equal(4.5, (await sweeps.GetAsync(created.Sweep.Id))!.Points[1].Point.NextWordLatencyMs);
        Assert.Null(await sweeps.GetAsync("nope"));
    }

    [Fact]
    public async Task A_sweep_whose_job_cannot_be_written_leaves_nothing()
    {
        if (_store is null) return;
        var jobs = _store.Jobs();
        await jobs.EnqueueAsync(new NewTrainingJob("other", "d1", "{}", UniqueKey: "taken"));
        var sweeps = Sweeps(jobs);

        await Assert.ThrowsAnyAsync<DbUpdateException>(() =>
            sweeps.CreateAsync(new NewSweep("sw", "d1", "{}", "{}"), [Point(0), Point(1, uniqueKey: "taken")]));

        Assert.Equal(0, (await sweeps.ListAsync()).Total);
        Assert.Equal(1, (await jobs.ListAsync()).Total);   // only the job that was there before
        await using var db = _store.Factory.CreateDbContext();
        Assert.Equal(0, await db.SweepPoints.CountAsync());
    }

    [Fact]
    public async Task Cancel_ends_queued_jobs_flags_running_ones_and_leaves_ended_ones()
    {
        if (_store is null) return;
        var jobs = _store.Jobs();
        var sweeps = Sweeps(jobs);
        var created = await sweeps.CreateAsync(new NewSweep("sw", "d1", "{}", "{}"), [Point(0), Point(1), Point(2)]);
        var running = (await jobs.ClaimAsync("w1", TimeSpan.FromMinutes(1)))!;
        var done = (await jobs.ClaimAsync("w1", TimeSpan.FromMinutes(1)))!;
        Assert.True(await jobs.CompleteFailedAsync(done.Id, done.ClaimToken!, "boom"));

        var cancelled = await sweeps.CancelAsync(created.Sweep.Id);
        var byId = cancelled.Points.ToDictionary(p => p.Job.Id, p => p.Job);
        Assert.True(byId[running.Id] is { Status: JobStatus.Running, CancelRequested: true });
        Assert.Equal(JobStatus.Failed, byId[done.Id].Status);
        var queued = cancelled.Points.Single(p => p.Job.Id != running.Id && p.Job.Id != done.Id).Job;
        Assert.Equal(JobStatus.Cancelled, queued.Status);

        Assert.True(await jobs.CompleteCancelledAsync(running.Id, running.ClaimToken!));
        await Assert.ThrowsAsync<ConflictException>(() => sweeps.CancelAsync(created.Sweep.Id));
        await Assert.ThrowsAsync<NotFoundException>(() => sweeps.CancelAsync("nope"));
    }
}

public sealed class SqliteSweepStoreTests(ITestOutputHelper output) : SweepStoreTests(StoreProviders.Sqlite, output);

public sealed class PostgresSweepStoreTests(ITestOutputHelper output) : SweepStoreTests(StoreProviders.Postgres, output);
