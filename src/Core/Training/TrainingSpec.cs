using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Training;

/// <summary>Everything that decides what a training run produces: tokenizer, architecture and recipe.</summary>
public sealed record TrainingSpec
{
    /// <summary>How text becomes tokens, and the vocabulary limits.</summary>
    public TokenizerOptions Tokenizer { get; init; } = new();

    /// <summary>The architecture.</summary>
    public ModelOptions Model { get; init; } = new();

    /// <summary>The recipe.</summary>
    public TrainingOptions Training { get; init; } = new();

    /// <summary>
    /// Warm start: the model version (<c>name@version</c>) whose weights, vocabulary and tokenizer the run starts from;
    /// <see cref="Tokenizer"/> and <see cref="Model"/> are then that version's. Null trains from random weights.
    /// </summary>
    public string? Init { get; init; }

    /// <summary>Validates all three parts; throws <see cref="InvalidSettingException"/> naming the field.</summary>
    public void Validate()
    {
        Tokenizer.Validate();
        Model.Validate();
        Training.Validate();
    }
}
