namespace RnnLmService.Core.Training;

/// <summary>The gradient method.</summary>
public enum OptimizerKind
{
    /// <summary>Plain SGD, the classic word-LM recipe (lr 20, /4 on plateaus).</summary>
    Sgd,
    /// <summary>Adam.</summary>
    Adam,
    /// <summary>Adam with decoupled weight decay.</summary>
    AdamW,
}

/// <summary>How a model is trained. Defaults follow the classic word-LM recipe.</summary>
public sealed record TrainingOptions
{
    /// <summary>Optimizer.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

    /// <summary>Initial learning rate, (0, 1000]; the classic SGD recipe uses 20, Adam ~0.002.</summary>
    public double LearningRate { get; init; } = 20;

    /// <summary>The learning rate is divided by this when validation loss stops improving; 1 turns annealing off. [1, 1000].</summary>
    public double AnnealFactor { get; init; } = 4;

    /// <summary>Gradient-norm clipping threshold; 0 turns clipping off. [0, 1000].</summary>
    public double Clip { get; init; } = 0.25;

    /// <summary>Weight decay (L2 for SGD/Adam, decoupled for AdamW). [0, 1].</summary>
    public double WeightDecay { get; init; }

    /// <summary>Passes over the training split (1..1000).</summary>
    public int Epochs { get; init; } = 6;

    /// <summary>Parallel streams the training split is cut into (1..4096).</summary>
    public int BatchSize { get; init; } = 20;

    /// <summary>Streams used for validation and test evaluation (1..4096).</summary>
    public int EvalBatchSize { get; init; } = 10;

    /// <summary>Truncated back-propagation length (sequence length) in tokens (1..10000).</summary>
    public int Bptt { get; init; } = 35;

    /// <summary>Stop after this many epochs without a better validation loss; 0 turns early stopping off (0..1000).</summary>
    public int Patience { get; init; } = 3;

    /// <summary>Seed for initialisation and dropout: the same seed gives the same weights.</summary>
    public long Seed { get; init; } = 1111;

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        static bool Finite(double x) => !double.IsNaN(x) && !double.IsInfinity(x);
        InvalidSettingException.Check(Enum.IsDefined(Optimizer), "optimizer", "optimizer must be one of sgd, adam, adamW.");
        InvalidSettingException.Check(Finite(LearningRate) && LearningRate > 0 && LearningRate <= 1000, "learningRate", $"learningRate must be above 0 and at most 1000 (was {LearningRate}).");
        InvalidSettingException.Check(Finite(AnnealFactor) && AnnealFactor is >= 1 and <= 1000, "annealFactor", $"annealFactor must be between 1 and 1000 (was {AnnealFactor}).");
        InvalidSettingException.Check(Finite(Clip) && Clip is >= 0 and <= 1000, "clip", $"clip must be between 0 and 1000 (was {Clip}).");
        InvalidSettingException.Check(Finite(WeightDecay) && WeightDecay is >= 0 and <= 1, "weightDecay", $"weightDecay must be between 0 and 1 (was {WeightDecay}).");
        InvalidSettingException.Check(Epochs is >= 1 and <= 1000, "epochs", $"epochs must be between 1 and 1000 (was {Epochs}).");
        InvalidSettingException.Check(BatchSize is >= 1 and <= 4096, "batchSize", $"batchSize must be between 1 and 4096 (was {BatchSize}).");
        InvalidSettingException.Check(EvalBatchSize is >= 1 and <= 4096, "evalBatchSize", $"evalBatchSize must be between 1 and 4096 (was {EvalBatchSize}).");
        InvalidSettingException.Check(Bptt is >= 1 and <= 10000, "bptt", $"bptt must be between 1 and 10000 (was {Bptt}).");
        InvalidSettingException.Check(Patience is >= 0 and <= 1000, "patience", $"patience must be between 0 and 1000 (was {Patience}).");
    }
}
