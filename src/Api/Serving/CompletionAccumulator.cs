using RnnLmService.Api.Models;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Serving;

/// <summary>One completion assembled from its generation steps: the one accumulator behind /api generate and /v1 completions.</summary>
internal sealed class CompletionAccumulator
{
    private readonly List<GeneratedToken> tokens = [];

    /// <summary>The tokens so far.</summary>
    public IReadOnlyList<GeneratedToken> Tokens => tokens;

    /// <summary>Why it ended, once it has.</summary>
    public FinishReason? Finish { get; private set; }

    /// <summary>The text so far.</summary>
    public string Text => string.Concat(tokens.Select(t => t.Text));

    /// <summary>
    /// Adds a step's token and, on the last step, its finish reason. The end-of-line token that ends a generation adds
    /// no text and is not a token of the output: it shows as the finish reason alone.
    /// </summary>
    public void Add(GenerationStep step)
    {
        if (step.Token is { } t && !IsClosingEndOfLine(step)) tokens.Add(t);
        Finish ??= step.Finish;
    }

    /// <summary>The step that ends a generation at the end-of-line token, carrying no text.</summary>
    public static bool IsClosingEndOfLine(GenerationStep step) =>
        step.Finish == FinishReason.Eos && step.Token is { Text.Length: 0 };

    /// <summary>One accumulator per completion.</summary>
    public static CompletionAccumulator[] For(int count) => Enumerable.Range(0, count).Select(_ => new CompletionAccumulator()).ToArray();
}
