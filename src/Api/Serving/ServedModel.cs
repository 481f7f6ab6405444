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
/// calls are batched (the engine pads and masks, so a batched answer equals the single one); generations are
/// stepped together, one token each per step.
/// </summary>
internal sealed class ServedModel : IServedModel
{
    private readonly InferenceScheduler scheduler;
    private readonly LanguageModel model;
    private readonly BatchOperation<NextWordQuery, NextWordResult> nextWord;
    private readonly BatchOperation<string, ScoreResult> score;
    private readonly BatchOperation<string, IReadOnlyList<string>> tokenize;
    private readonly StreamOperation<GenerationStream, GenerationStep> generate;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<object, SchedulerOperation> bound = new();
    private int disposed;

    private ServedModel(string key, InferenceScheduler scheduler, LanguageModel model)
    {
        Key = key;
        this.scheduler = scheduler;
        this.model = model;
        nextWord = new("next-word", model.NextWordBatch);
        score = new("score", model.ScoreBatch);
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

    public int QueueDepth => scheduler.QueueDepth;

    public int LiveStreams => scheduler.LiveStreams;

    /// <summary>Starts the model's scheduler thread and loads the model on it.</summary>
    public static async Task<ServedModel> LoadAsync(string key, string directory, ServingOptions serving, ServingMetrics metrics, ILogger logger)
    {
        var settings = new SchedulerSettings(serving.MaxBatchSize, serving.MaxBatchWait, serving.QueueCapacity);
        var threads = serving.TorchThreads;
        var scheduler = new InferenceScheduler(key, settings, () => torch.set_num_threads(threads), metrics, logger);
        try
        {
            var model = await scheduler.InvokeAsync(() => LanguageModel.Load(directory));
            return new ServedModel(key, scheduler, model);
        }
        catch
        {
            scheduler.Dispose();
            throw;
        }
    }

    public Task<NextWordResult> NextWordAsync(NextWordQuery query, CancellationToken cancellationToken) =>
        scheduler.RunAsync(nextWord, query, cancellationToken);

    public Task<ScoreResult> ScoreAsync(string text, CancellationToken cancellationToken) =>
        scheduler.RunAsync(score, text, cancellationToken);

    public Task<IReadOnlyList<string>> TokenizeAsync(string text, CancellationToken cancellationToken) =>
        scheduler.RunAsync(tokenize, text, cancellationToken);

    public StreamHandle<GenerationStep> StartGeneration(string prompt, GenerationOptions options) =>
        scheduler.Start(generate, () => model.StartGeneration(prompt, options));

    public Task<TOut> RunAsync<TIn, TOut>(ModelOperation<TIn, TOut> operation, TIn input, CancellationToken cancellationToken) =>
        scheduler.RunAsync((BatchOperation<TIn, TOut>)bound.GetOrAdd(operation, _ => operation.Bind(model)), input, cancellationToken);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
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
internal sealed class ServedModelLoader(IOptions<RnnLmOptions> options, ServingMetrics metrics, ILoggerFactory loggers) : IServedModelLoader
{
    public async Task<IServedModel> LoadAsync(string key, string directory, CancellationToken cancellationToken) =>
        await ServedModel.LoadAsync(key, directory, options.Value.Serving, metrics, loggers.CreateLogger($"RnnLmService.Serving.{key}"));
}
