using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using RnnLmService.Api.Hosting;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Serving;

/// <summary>
/// The serving instruments (<see cref="System.Diagnostics.Metrics"/>), exported on <c>/metrics</c> by
/// prometheus-net's meter adapter as <c>{meter}_{instrument}</c> with dots turned into underscores, e.g. <c>rnnlm_inference_batch_size</c>.
/// </summary>
public sealed class ServingMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "rnnlm";

    /// <summary>Instrument name of the batch-size histogram.</summary>
    public const string BatchSizeName = "inference.batch_size";

    /// <summary>Bucket bounds for the batch-size histogram.</summary>
    public static readonly double[] BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    private readonly Histogram<int> batchSize;
    private readonly UpDownCounter<int> queueDepth;
    private readonly Counter<long> tokensGenerated;
    private readonly UpDownCounter<int> modelsLoaded;
    private readonly Counter<long> rejected;
    private readonly ConcurrentDictionary<string, StateCache> caches = new();

    /// <summary>Creates the instruments on the host's meter factory.</summary>
    public ServingMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        batchSize = meter.CreateHistogram<int>(BatchSizeName, "{request}", "Requests (or generation streams) run together in one batch.");
        queueDepth = meter.CreateUpDownCounter<int>("inference.queue_depth", "{request}", "Requests waiting in a model's inference queue.");
        tokensGenerated = meter.CreateCounter<long>("generated_tokens", "{token}", "Tokens generated.");
        modelsLoaded = meter.CreateUpDownCounter<int>("models.loaded", "{model}", "Model versions loaded in this process.");
        rejected = meter.CreateCounter<long>("inference.rejected", "{request}", "Requests refused because a model's queue was full.");
        meter.CreateObservableCounter("state_cache.hits", () => CacheMeasurements(c => c.Hits), "{lookup}", "Contexts read from a cached prefix's hidden state.");
        meter.CreateObservableCounter("state_cache.misses", () => CacheMeasurements(c => c.Misses), "{lookup}", "Contexts read from the start (no cached prefix).");
        meter.CreateObservableGauge("state_cache.bytes", () => CacheMeasurements(c => c.Bytes), "By", "Bytes held by a model's hidden-state cache.");
        meter.CreateObservableGauge("state_cache.entries", () => CacheMeasurements(c => c.Count), "{entry}", "Contexts whose hidden state a model's cache holds.");
        ProcessMemoryMetrics.Register(meter);
    }

    internal void RecordBatch(string model, string operation, int size) =>
        batchSize.Record(size, new("model", model), new("operation", operation));

    internal void QueueChanged(string model, int delta) => queueDepth.Add(delta, new KeyValuePair<string, object?>("model", model));

    internal void TokensGenerated(string model, int count) => tokensGenerated.Add(count, new KeyValuePair<string, object?>("model", model));

    internal void ModelLoaded(int delta) => modelsLoaded.Add(delta);

    /// <summary>Exports <paramref name="cache"/>'s hits, misses and bytes under <paramref name="model"/> until <see cref="RemoveCache"/>.</summary>
    internal void AddCache(string model, StateCache cache) => caches[model] = cache;

    internal void RemoveCache(string model) => caches.TryRemove(model, out _);

    private IEnumerable<Measurement<long>> CacheMeasurements(Func<StateCache, long> read) =>
        caches.Select(c => new Measurement<long>(read(c.Value), new KeyValuePair<string, object?>("model", c.Key))).ToList();

    internal void Rejected(string model) => rejected.Add(1, new KeyValuePair<string, object?>("model", model));
}
