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

    private ModelRegistry Create(FakeLoader loader) => new(
        factory.Services.GetRequiredService<ModelVersionStore>(), loader,
        factory.Services.GetRequiredService<IOptions<RnnLmOptions>>(),
        factory.Services.GetRequiredService<ServingMetrics>(), NullLogger<ModelRegistry>.Instance);

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
        public Task<ScoreResult> ScoreAsync(string text, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<string>> TokenizeAsync(string text, CancellationToken cancellationToken) => throw new NotSupportedException();
        public StreamHandle<GenerationStep> StartGeneration(string prompt, GenerationOptions options) => throw new NotSupportedException();
        public void Dispose() => Disposed = true;
    }
}
