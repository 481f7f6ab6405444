using Microsoft.Extensions.Options;
using RnnLmService.Api.Models;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using TorchSharp;

namespace RnnLmService.Api.Serving;

/// <summary>
/// A <see cref="LanguageModel"/> served through its own <see cref="InferenceScheduler"/>: loaded, used and
/// disposed on the scheduler thread only (the engine is single-threaded by contract). Next-word and score
/// calls are batched, grouped by length under <c>MaxBatchTokens</c> (each input priced by its tokens on the caller's
/// thread; a batched answer equals the single one); generations are stepped together, one token each per step,
/// each holding a <see cref="LiveStreamLimit"/> slot while its reader holds it.
/// </summary>
internal sealed class ServedModel : IServedModel
{
    private readonly InferenceScheduler scheduler;
    private readonly LanguageModel model;
    private readonly BatchOperation<PreparedNextWord, NextWordResult> nextWord;
    private readonly BatchOperation<PreparedScore, ScoreResult> score;
    private readonly LiveStreamLimit streams;
    private readonly ServingMetrics metrics;
    private readonly BatchOperation<string, IReadOnlyList<string>> tokenize;
    private readonly StreamOperation<GenerationStream, GenerationStep> generate;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<object, SchedulerOperation> bound = new();
    private int disposed;

    private ServedModel(string key, InferenceScheduler scheduler, LanguageModel model, LiveStreamLimit streams, ServingMetrics metrics)
    {
        Key = key;
        this.scheduler = scheduler;
        this.model = model;
        this.streams = streams;
        this.metrics = metrics;
        // The cost functions run on the caller's thread: a bad input fails there, before it can join a batch.
        nextWord = new("next-word", model.NextWordBatch, p => p.Ids.Length);
        score = new("score", model.ScoreBatch, p => p.Tokens.Count + 1);
        tokenize = new("tokenize", texts => texts.Select(model.TokensOf).ToList());
        generate = new("generate", streams =>
        {
            var tokens = model.Step(streams);
            return streams.Select((s, i) => new GenerationStep(tokens[i], s.Finish)).ToList();
        }, step => step.Finish is not null);
    }

    public string Key { get; }

    public ModelManifest Manifest => model.Manifest;

    public int VocabularySize => model.Vocabulary.Count;

    public Core.Text.Vocabulary Vocabulary => model.Vocabulary;

    public int QueueDepth => scheduler.QueueDepth;

    public int LiveStreams => scheduler.LiveStreams;

    /// <summary>Starts the model's scheduler thread and loads the model on it.</summary>
    public static async Task<ServedModel> LoadAsync(string key, string directory, ServingOptions serving, LiveStreamLimit streams, ServingMetrics metrics, ILogger logger)
    {
        var settings = new SchedulerSettings(serving.MaxBatchSize, serving.MaxBatchWait, serving.QueueCapacity, serving.MaxBatchTokens);
        var limits = new InferenceLimits(ChunkTokens: serving.MaxBatchTokens, StateCacheBytes: serving.StateCacheBytes);
        var threads = serving.TorchThreads;
        var scheduler = new InferenceScheduler(key, settings, () => torch.set_num_threads(threads), metrics, logger);
        try
        {
            var model = await scheduler.InvokeAsync(() => LanguageModel.Load(directory, limits));
            metrics.AddCache(key, model.Cache);
            return new ServedModel(key, scheduler, model, streams, metrics);
        }
        catch
        {
            scheduler.Dispose();
            throw;
        }
    }

    public Task<NextWordResult> NextWordAsync(NextWordQuery query, CancellationToken cancellationToken) =>
        scheduler.RunAsync(nextWord, model.Prepare(query), cancellationToken);

    public Task<ScoreResult> ScoreAsync(ScoreQuery query, CancellationToken cancellationToken) =>
        scheduler.RunAsync(score, model.PrepareScore(query), cancellationToken);

    public Task<IReadOnlyList<string>> TokenizeAsync(string text, CancellationToken cancellationToken) =>
        scheduler.RunAsync(tokenize, text, cancellationToken);

    public StreamHandle<GenerationStep> StartGeneration(string prompt, GenerationOptions options)
    {
        var slot = streams.Acquire();
        try
        {
            return scheduler.Start(generate, () => model.StartGeneration(prompt, options), slot.Dispose);
        }
        catch
        {
            slot.Dispose();
            throw;
        }
    }

    public Task<TOut> RunAsync<TIn, TOut>(ModelOperation<TIn, TOut> operation, TIn input, CancellationToken cancellationToken) =>
        scheduler.RunAsync((BatchOperation<TIn, TOut>)bound.GetOrAdd(operation, _ => operation.Bind(model)), input, cancellationToken);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        metrics.RemoveCache(Key);
        scheduler.StopStreams();
        try
        {
            scheduler.InvokeAsync(() => { model.Dispose(); return true; }).GetAwaiter().GetResult();
        }
        finally
        {
            scheduler.Dispose();
        }
    }
}

/// <summary>Loads model versions as <see cref="ServedModel"/>s with the configured serving limits.</summary>
internal sealed class ServedModelLoader(IOptions<RnnLmOptions> options, LiveStreamLimit streams, ServingMetrics metrics, ILoggerFactory loggers) : IServedModelLoader
{
    public async Task<IServedModel> LoadAsync(string key, string directory, CancellationToken cancellationToken) =>
        await ServedModel.LoadAsync(key, directory, options.Value.Serving, streams, metrics, loggers.CreateLogger($"RnnLmService.Serving.{key}"));
}
