using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;

using RnnLmService.Api.Serving;

namespace RnnLmService.Api.Models;

/// <summary>
/// A loaded model version behind its inference scheduler: every call is queued, batched with compatible
/// calls and run on the model's own thread. Disposing it stops the scheduler and frees the weights.
/// </summary>
public interface IServedModel : IDisposable
{
    /// <summary><c>name@version</c>.</summary>
    string Key { get; }

    /// <summary>The model's manifest (architecture, tokenizer, metrics).</summary>
    ModelManifest Manifest { get; }

    /// <summary>Tokens the model knows, specials included.</summary>
    int VocabularySize { get; }

    /// <summary>The model's vocabulary (immutable once loaded: readable from any thread).</summary>
    Core.Text.Vocabulary Vocabulary => throw new NotSupportedException($"{GetType().Name} exposes no vocabulary.");

    /// <summary>Requests waiting in this model's queue.</summary>
    int QueueDepth { get; }

    /// <summary>Generations being stepped right now.</summary>
    int LiveStreams { get; }

    /// <summary>The next-word distribution (batched with concurrent calls).</summary>
    Task<NextWordResult> NextWordAsync(NextWordQuery query, CancellationToken cancellationToken);

    /// <summary>Per-token log-probability, rank, entropy and top alternatives of a text (batched with concurrent calls).</summary>
    Task<ScoreResult> ScoreAsync(ScoreQuery query, CancellationToken cancellationToken);

    /// <summary>Per-token log-probabilities of a text, no alternatives.</summary>
    Task<ScoreResult> ScoreAsync(string text, CancellationToken cancellationToken) => ScoreAsync(new ScoreQuery(text), cancellationToken);

    /// <summary>The tokens a text is read as.</summary>
    Task<IReadOnlyList<string>> TokenizeAsync(string text, CancellationToken cancellationToken);

    /// <summary>Starts a generation; it is stepped together with the model's other live generations.</summary>
    StreamHandle<GenerationStep> StartGeneration(string prompt, GenerationOptions options);

    /// <summary>Runs <paramref name="operation"/> on the model's scheduler thread, batched with its concurrent calls.</summary>
    Task<TOut> RunAsync<TIn, TOut>(ModelOperation<TIn, TOut> operation, TIn input, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} does not run model operations.");
}

/// <summary>One step of a generation: the token produced (null if none) and, on the last step, why it ended.</summary>
public sealed record GenerationStep(GeneratedToken? Token, FinishReason? Finish);

/// <summary>Loads a model version's directory into an <see cref="IServedModel"/>.</summary>
public interface IServedModelLoader
{
    /// <summary>Loads the model in <paramref name="directory"/>; throws <see cref="RnnLmService.Core.ModelFormatException"/> when the files are unusable.</summary>
    Task<IServedModel> LoadAsync(string key, string directory, CancellationToken cancellationToken);
}
