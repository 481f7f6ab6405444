using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Models;
using RnnLmService.Api.Serving;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Api.Tests.Models;

public class ModelRegistryTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Concurrent_first_requests_load_a_version_once()
    {
        await factory.AddModelAsync("single");
        var loader = new FakeLoader(TimeSpan.FromMilliseconds(200));
        using var registry = Create(loader);

        var leases = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => registry.AcquireAsync("single"))));
        Assert.Equal(1, loader.Loads);
        Assert.Single(leases.Select(l => l.Model).Distinct());
        foreach (var lease in leases) lease.Dispose();
    }

    [Fact]
    public async Task Unloading_waits_for_requests_in_flight()
    {
        await factory.AddModelAsync("busy");
        var loader = new FakeLoader(TimeSpan.Zero);
        using var registry = Create(loader);

        var lease = await registry.AcquireAsync("busy");
        var model = (FakeModel)lease.Model;
        var unload = registry.UnloadAsync("busy");
        await Task.Delay(100);
        Assert.False(unload.IsCompleted);
        Assert.False(model.Disposed);

        lease.Dispose();
        var (_, wasLoaded) = await unload.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(wasLoaded);
        Assert.True(model.Disposed);

        // The next request loads it again.
        using var again = await registry.AcquireAsync("busy");
        Assert.Equal(2, loader.Loads);
    }

    [Fact]
    public async Task A_failed_load_is_retried_by_the_next_request()
    {
        await factory.AddModelAsync("flaky");
        var loader = new FakeLoader(TimeSpan.Zero) { FailFirst = true };
        using var registry = Create(loader);
        await Assert.ThrowsAsync<RnnLmService.Core.ModelFormatException>(() => registry.AcquireAsync("flaky"));
        using var lease = await registry.AcquireAsync("flaky");
        Assert.Equal(2, loader.Loads);
    }

    [Fact]
    public async Task At_most_MaxLoadedModels_are_loaded_the_least_recently_used_idle_one_goes_and_all_busy_is_503()
    {
        foreach (var name in new[] { "lru-a", "lru-b", "lru-c" }) await factory.AddModelAsync(name);
        var loader = new FakeLoader(TimeSpan.Zero);
        using var registry = Create(loader, s => s.MaxLoadedModels = 2);

        FakeModel Use(ModelLease lease) { using (lease) return (FakeModel)lease.Model; }
        var a = Use(await registry.AcquireAsync("lru-a"));
        var b = Use(await registry.AcquireAsync("lru-b"));
        Use(await registry.AcquireAsync("lru-a"));                 // a used last: b is the least recently used
        var c = Use(await registry.AcquireAsync("lru-c"));
        Assert.True(b.Disposed);
        Assert.False(a.Disposed);
        Assert.False(registry.IsLoaded("lru-b@1"));
        Assert.True(registry.IsLoaded("lru-a@1") && registry.IsLoaded("lru-c@1"));

        using var holdA = await registry.AcquireAsync("lru-a");
        using var holdC = await registry.AcquireAsync("lru-c");
        var busy = await Assert.ThrowsAsync<RnnLmService.Api.Errors.ModelNotReadyException>(() => registry.AcquireAsync("lru-b"));
        Assert.Equal(503, busy.StatusCode);
        Assert.NotNull(busy.RetryAfter);
        Assert.False(c.Disposed);
        Assert.Equal(3, loader.Loads);
    }

    [Fact]
    public async Task Keep_alive_zero_unloads_after_the_request_a_short_one_expires_and_a_negative_one_keeps()
    {
        foreach (var name in new[] { "ka-zero", "ka-short", "ka-forever" }) await factory.AddModelAsync(name);
        using var registry = Create(new FakeLoader(TimeSpan.Zero));

        var lease = await registry.AcquireAsync("ka-zero", keepAlive: TimeSpan.Zero);
        var zero = (FakeModel)lease.Model;
        Assert.False(zero.Disposed);
        lease.Dispose();
        await WaitUntil(() => zero.Disposed);

        lease = await registry.AcquireAsync("ka-short", keepAlive: TimeSpan.FromMilliseconds(300));
        var shortLived = (FakeModel)lease.Model;
        lease.Dispose();
        lease = await registry.AcquireAsync("ka-forever", keepAlive: Timeout.InfiniteTimeSpan);
        var forever = (FakeModel)lease.Model;
        lease.Dispose();
        await registry.PollOnceAsync(CancellationToken.None);
        Assert.False(shortLived.Disposed);                         // within its keep-alive

        await Task.Delay(400);
        await registry.PollOnceAsync(CancellationToken.None);
        Assert.True(shortLived.Disposed);
        Assert.False(forever.Disposed);
        Assert.True(registry.IsLoaded("ka-forever@1"));
    }

    [Fact]
    public async Task A_name_at_version_request_is_not_pinned_once_a_newer_version_exists()
    {
        await factory.AddModelAsync("unpinned");
        using var registry = Create(new FakeLoader(TimeSpan.Zero));
        FakeModel old;
        using (var lease = await registry.AcquireAsync("unpinned@1")) old = (FakeModel)lease.Model;
        await factory.AddModelAsync("unpinned");                   // version 2 is now what the name resolves to
        await registry.PollOnceAsync(CancellationToken.None);
        Assert.True(old.Disposed);
        Assert.False(registry.IsLoaded("unpinned@1"));
    }

    [Fact]
    public async Task Unloading_gives_up_waiting_for_requests_in_flight_after_UnloadTimeout()
    {
        await factory.AddModelAsync("stuck");
        using var registry = Create(new FakeLoader(TimeSpan.Zero), s => s.UnloadTimeout = TimeSpan.FromMilliseconds(200));
        using var lease = await registry.AcquireAsync("stuck");    // never released during the unload
        var (_, wasLoaded) = await registry.UnloadAsync("stuck").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(wasLoaded);
        Assert.True(((FakeModel)lease.Model).Disposed);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition());
    }

    private ModelRegistry Create(FakeLoader loader, Action<ServingOptions>? serving = null)
    {
        var configured = factory.Services.GetRequiredService<IOptions<RnnLmOptions>>().Value;
        var options = new RnnLmOptions { DataDirectory = configured.DataDirectory, StarterModel = false };
        serving?.Invoke(options.Serving);
        return new(factory.Services.GetRequiredService<ModelVersionStore>(), loader, Options.Create(options),
            factory.Services.GetRequiredService<ServingMetrics>(), new RnnLmService.Core.Storage.Artifacts.FileSystemArtifactStore(options.DataPath),
            NullLogger<ModelRegistry>.Instance);
    }

    private sealed class FakeLoader(TimeSpan delay) : IServedModelLoader
    {
        private int loads;
        public int Loads => loads;
        public bool FailFirst { get; init; }

        public async Task<IServedModel> LoadAsync(string key, string directory, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref loads);
            await Task.Delay(delay, cancellationToken);
            if (FailFirst && n == 1) throw new RnnLmService.Core.ModelFormatException(directory, "broken on purpose");
            return new FakeModel(key);
        }
    }

    private sealed class FakeModel(string key) : IServedModel
    {
        public volatile bool Disposed;
        public string Key => key;
        public ModelManifest Manifest => throw new NotSupportedException();
        public int VocabularySize => 10;
        public int QueueDepth => 0;
        public int LiveStreams => 0;
        public Task<NextWordResult> NextWordAsync(NextWordQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<ScoreResult> ScoreAsync(ScoreQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<string>> TokenizeAsync(string text, CancellationToken cancellationToken) => throw new NotSupportedException();
        public StreamHandle<GenerationStep> StartGeneration(string prompt, GenerationOptions options) => throw new NotSupportedException();
        public void Dispose() => Disposed = true;
    }
}
