using Microsoft.Extensions.Logging.Abstractions;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Worker.Jobs;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>Start-up housekeeping on a real SQLite store and data directory, one leftover state at a time.</summary>
public sealed class DataDirectoryJanitorTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestStore _store = null!;
    private JobPaths _paths = null!;

    public async Task InitializeAsync()
    {
        _store = (await TestStore.CreateAsync(StoreProviders.Sqlite, output))!;
        _paths = new JobPaths(_store.DataDirectory);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private DataDirectoryJanitor Janitor() => new(_store.Factory, _paths, new RnnLmService.Core.Storage.Artifacts.FileSystemArtifactStore(_store.DataDirectory), TimeProvider.System,
        NullLogger<DataDirectoryJanitor>.Instance);

    private static string Stage(string staging)
    {
        var model = JobPaths.StagedModel(staging);
        Directory.CreateDirectory(model);
        File.WriteAllText(Path.Combine(model, "model.json"), "{}");
        return staging;
    }

    [Fact]
    public async Task Start_up_finishes_a_committed_publish_and_removes_what_ended_jobs_and_dead_claims_left()
    {
        var jobs = _store.Jobs();
        // 1. Committed, not moved: the worker died between the transaction and the rename.
        var committed = await jobs.EnqueueAsync(new NewTrainingJob("m", "d", "{}"));
        var c = (await jobs.ClaimAsync("w", TimeSpan.FromMinutes(5)))!;
        var n = await _store.Versions().ReserveVersionAsync("m");
        var staged = Stage(_paths.Staging(committed.Id, c.ClaimToken!));
        Assert.True(await jobs.CompleteSucceededAsync(committed.Id, c.ClaimToken!,
            new ModelVersionRecord { Name = "m", Version = n, ArtifactPath = JobPaths.RelativeModel("m", n), MetricsJson = "{}" }, false, 1.0));
        Directory.CreateDirectory(_paths.ClaimCheckpoints(committed.Id, c.ClaimToken!));

        // 2. A live claim's staging (another worker is publishing right now) and 3. a dead claim's.
        var live = await jobs.EnqueueAsync(new NewTrainingJob("live", "d", "{}"));
        var l = (await jobs.ClaimAsync("w", TimeSpan.FromMinutes(5)))!;
        var liveStaging = Stage(_paths.Staging(live.Id, l.ClaimToken!));
        var deadStaging = Stage(_paths.Staging(live.Id, "an-old-claim"));
        Directory.CreateDirectory(_paths.ClaimCheckpoints(live.Id, l.ClaimToken!));

        // 4. An old dataset directory without a dataset row, and a fresh one (maybe an upload between rename and insert).
        var orphan = Directory.CreateDirectory(Path.Combine(_paths.DatasetsRoot, "orphan")).FullName;
        Directory.SetLastWriteTimeUtc(orphan, DateTime.UtcNow.AddHours(-2));
        var fresh = Directory.CreateDirectory(Path.Combine(_paths.DatasetsRoot, "fresh")).FullName;

        await Janitor().CleanAsync(default);

        Assert.True(File.Exists(Path.Combine(_store.DataDirectory, "models", "m", n.ToString(), "model.json")));
        Assert.False(Directory.Exists(staged));
        Assert.False(Directory.Exists(_paths.JobCheckpoints(committed.Id)));
        Assert.True(Directory.Exists(liveStaging));
        Assert.False(Directory.Exists(deadStaging));
        Assert.True(Directory.Exists(_paths.ClaimCheckpoints(live.Id, l.ClaimToken!)));
        Assert.False(Directory.Exists(orphan));
        Assert.True(Directory.Exists(fresh));
    }
}
