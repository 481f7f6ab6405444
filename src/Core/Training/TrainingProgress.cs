using RnnLmService.Core.Text;

namespace RnnLmService.Core.Training;

/// <summary>What a progress report is about.</summary>
public enum ProgressKind
{
    /// <summary>A training step (every <see cref="TrainingRunContext.ReportEverySteps"/> steps).</summary>
    Step,
    /// <summary>The end of an epoch, after validation.</summary>
    Epoch,
}

/// <summary>A progress report from the trainer.</summary>
/// <param name="Kind">Step or epoch end.</param>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">1-based step within the epoch.</param>
/// <param name="StepsPerEpoch">Steps in one epoch.</param>
/// <param name="GlobalStep">Steps since the run began (including those before a resume).</param>
/// <param name="TotalSteps">Steps of the whole run if it does not stop early.</param>
/// <param name="Loss">Mean training loss (nats/token) since the previous report; for Epoch the epoch's mean.</param>
/// <param name="LearningRate">Current learning rate.</param>
/// <param name="TokensPerSecond">Training throughput since the previous report.</param>
/// <param name="ValidPerplexity">Validation perplexity (epoch reports only).</param>
/// <param name="BestValidPerplexity">Best validation perplexity so far, if any.</param>
public sealed record TrainingProgress(
    ProgressKind Kind, int Epoch, int Step, int StepsPerEpoch, long GlobalStep, long TotalSteps,
    double Loss, double LearningRate, double TokensPerSecond, double? ValidPerplexity, double? BestValidPerplexity);

/// <summary>Where a run resumed from.</summary>
/// <param name="Epoch">1-based epoch the run continues in.</param>
/// <param name="Step">Steps of that epoch already done.</param>
/// <param name="GlobalStep">Steps done in all.</param>
public sealed record ResumeInfo(int Epoch, int Step, long GlobalStep);

/// <summary>What the run measured.</summary>
public sealed record TrainingMetrics
{
    /// <summary>Best validation perplexity (the kept model's).</summary>
    public double BestValidPerplexity { get; init; }
    /// <summary>Test perplexity of the kept model.</summary>
    public double TestPerplexity { get; init; }
    /// <summary>Validation checks run: one per epoch, plus one when a budget ended an epoch part-way.</summary>
    public int Epochs { get; init; }
    /// <summary>Training steps run.</summary>
    public long Steps { get; init; }
    /// <summary>True when early stopping ended the run.</summary>
    public bool StoppedEarly { get; init; }
    /// <summary>What ended the run: epochs, patience, maxSteps or maxMinutes.</summary>
    public string StopReason { get; init; } = StopReasons.Epochs;
    /// <summary>The step at which NT-ASGD began averaging the weights, if it did (the kept model is then an average).</summary>
    public long? AveragingStartStep { get; init; }
    /// <summary>Tokens in the train / valid / test splits.</summary>
    public long TrainTokens { get; init; }
    /// <summary>Tokens in the validation split.</summary>
    public long ValidTokens { get; init; }
    /// <summary>Tokens in the test split.</summary>
    public long TestTokens { get; init; }
    /// <summary>Vocabulary size including specials.</summary>
    public int VocabularySize { get; init; }
    /// <summary>A warm start's validation perplexity before its first step: the parent model's on this dataset (null for a cold start).</summary>
    public double? InitialValidPerplexity { get; init; }
    /// <summary>Validation perplexity after each epoch.</summary>
    public IReadOnlyList<double> ValidPerplexityHistory { get; init; } = [];
    /// <summary>Training tokens per second over the run: tokens trained on ÷ <see cref="TrainingSeconds"/>.</summary>
    public double TokensPerSecond { get; init; }
    /// <summary>
    /// Bits per character of the test text as the tokenizer normalised it (<see cref="TextMeasures"/>): the scored test
    /// targets' −Σ log₂ p over the characters they cover (Unicode scalar values, <c>\n</c> line ends counted, and for the
    /// word tokenizer the single spaces between tokens). An unknown word's one <c>&lt;unk&gt;</c> log-probability counts for
    /// all its characters. Comparable across tokenizers and vocabularies on the same normalised text.
    /// </summary>
    public double TestBitsPerCharacter { get; init; }
    /// <summary>Perplexity per word: exp(−Σ ln p over the scored test targets ÷ whitespace-separated words they cover); <c>&lt;eos&gt;</c> is scored but is not a word.</summary>
    public double TestWordPerplexity { get; init; }
    /// <summary>Characters of the normalised test text covered by the scored targets (the BPC denominator).</summary>
    public long TestCharacters { get; init; }
    /// <summary>Whitespace-separated words starting in the scored targets (the per-word perplexity denominator).</summary>
    public long TestWords { get; init; }
    /// <summary>Trainable parameters, each once when weights are tied.</summary>
    public long Parameters { get; init; }
    /// <summary>Bytes those parameters take (float32: 4 each; the weights file is this plus a small header per tensor).</summary>
    public long ParameterBytes { get; init; }
    /// <summary>
    /// Bytes of the saved weights file (<c>weights.bin</c>): the parameters plus a small header per tensor, a tied
    /// matrix stored under both its names; the vocabulary (and BPE merges) files are beside it.
    /// </summary>
    public long ModelBytes { get; init; }
    /// <summary>Wall-clock seconds of the training loop (steps, validations and checkpoints; not the corpus reading or the final test evaluation), summed over resumes.</summary>
    public double TrainingSeconds { get; init; }
}
