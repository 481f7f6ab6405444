using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Serving;

/// <summary>
/// Work on a loaded <see cref="LanguageModel"/> that the model's scheduler runs like its own operations: concurrent
/// calls of the same operation form one batch, run one by one on the scheduler thread (a bad input fails only its
/// own call). For endpoints beyond next-word, score and generate (the interpretability endpoints).
/// </summary>
/// <param name="Name">Label for metrics, e.g. <c>explain</c>.</param>
/// <param name="Run">What to do with one input (scheduler thread).</param>
public sealed record ModelOperation<TIn, TOut>(string Name, Func<LanguageModel, TIn, TOut> Run)
{
    /// <summary>The scheduler operation for one model.</summary>
    internal BatchOperation<TIn, TOut> Bind(LanguageModel model) =>
        new(Name, inputs => inputs.Select(input => Run(model, input)).ToList());
}
