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
    /// <summary>Non-monotonically triggered averaged SGD (AWD-LSTM): SGD until validation stalls, then SGD with the weights averaged.</summary>
    NtAsgd,
}

/// <summary>How the learning rate moves over the run (a linear warm-up can precede either).</summary>
public enum LearningRateSchedule
{
    /// <summary>Divided by <see cref="TrainingOptions.AnnealFactor"/> when validation does not improve (the classic recipe).</summary>
    Plateau,
    /// <summary>Cosine decay from the learning rate to <see cref="TrainingOptions.MinLearningRateFraction"/> of it over the planned run.</summary>
    Cosine,
}

/// <summary>How a model is trained. Defaults follow the classic word-LM recipe.</summary>
public sealed record TrainingOptions
{
    private readonly double? learningRate;

    /// <summary>Optimizer.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

    /// <summary>Initial learning rate, (0, 1000]; when not given, <see cref="DefaultLearningRate"/> of the optimizer.</summary>
    public double LearningRate
    {
        get => learningRate ?? DefaultLearningRate(Optimizer);
        init => learningRate = value;
    }

    /// <summary>The learning rate is divided by this when validation loss stops improving; 1 turns annealing off. [1, 1000].</summary>
    public double AnnealFactor { get; init; } = 4;

    /// <summary>Gradient-norm clipping threshold; 0 turns clipping off. [0, 1000].</summary>
    public double Clip { get; init; } = 0.25;

    /// <summary>Weight decay (L2 for SGD/Adam/NT-ASGD, decoupled for AdamW). [0, 1].</summary>
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

    /// <summary>Learning-rate schedule: plateau annealing (default) or cosine decay.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Plateau;

    /// <summary>Steps of linear warm-up from lr/warmupSteps to lr (0..10,000,000); 0 is off.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Where the cosine schedule ends, as a fraction of the learning rate, [0, 1].</summary>
    public double MinLearningRateFraction { get; init; } = 0.1;

    /// <summary>Each batch runs as this many micro-batches of batchSize/k streams, gradients summed before one step (1..64, divides batchSize).</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>AWD-LSTM's variable sequence length: bptt with probability 0.95 else bptt/2, plus N(0, 5) jitter, lr scaled by length/bptt.</summary>
    public bool VariableBptt { get; init; }

    /// <summary>Stop cleanly after this many optimizer steps (then validate, test and save); null is no limit.</summary>

    /// <example>10000</example>
    public long? MaxSteps { get; init; }

    /// <summary>Stop cleanly at the first batch boundary after this many minutes of training (validation included); null is no limit.</summary>

    /// <example>60</example>
    public double? MaxMinutes { get; init; }

    /// <summary>Activation regularisation (AR): weight of the mean squared last-layer output after dropout; 0 is off. [0, 100].</summary>
    public double ActivationRegularization { get; init; }

    /// <summary>Temporal activation regularisation (TAR): weight of the mean squared step-to-step change of the last-layer output; 0 is off. [0, 100].</summary>
    public double TemporalActivationRegularization { get; init; }

    /// <summary>NT-ASGD switches to averaging when validation is worse than the best of the checks before the last this-many (0..1000).</summary>
    public int NonmonoInterval { get; init; } = 5;

    /// <summary>
    /// The learning rate an optimizer starts at when the job gives none. SGD: 20, the classic word-LM recipe (gradients
    /// clipped to 0.25, so a step moves at most 5 in norm). NT-ASGD: 30, AWD-LSTM's setting for the same clipped SGD.
    /// Adam and AdamW: 0.002 — their step is about lr per weight whatever the gradient's scale, so a rate fit for SGD
    /// (20) destroys the weights at once; 1e-3 to 3e-3 is where Adam trains LSTM language models stably.
    /// </summary>
    public static double DefaultLearningRate(OptimizerKind optimizer) => optimizer switch
    {
        OptimizerKind.Adam or OptimizerKind.AdamW => 0.002,
        OptimizerKind.NtAsgd => 30,
        _ => 20,
    };

    /// <summary>This record with the learning rate written out (two specs that train the same compare equal).</summary>
    public TrainingOptions Resolved() => this with { LearningRate = LearningRate };

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        static bool Finite(double x) => !double.IsNaN(x) && !double.IsInfinity(x);
        InvalidSettingException.Check(Enum.IsDefined(Optimizer), "optimizer", "optimizer must be one of sgd, adam, adamW, ntAsgd.");
        InvalidSettingException.Check(Finite(LearningRate) && LearningRate > 0 && LearningRate <= 1000, "learningRate", $"learningRate must be above 0 and at most 1000 (was {LearningRate}).");
        InvalidSettingException.Check(Finite(AnnealFactor) && AnnealFactor is >= 1 and <= 1000, "annealFactor", $"annealFactor must be between 1 and 1000 (was {AnnealFactor}).");
        InvalidSettingException.Check(Finite(Clip) && Clip is >= 0 and <= 1000, "clip", $"clip must be between 0 and 1000 (was {Clip}).");
        InvalidSettingException.Check(Finite(WeightDecay) && WeightDecay is >= 0 and <= 1, "weightDecay", $"weightDecay must be between 0 and 1 (was {WeightDecay}).");
        InvalidSettingException.Check(Epochs is >= 1 and <= 1000, "epochs", $"epochs must be between 1 and 1000 (was {Epochs}).");
        InvalidSettingException.Check(BatchSize is >= 1 and <= 4096, "batchSize", $"batchSize must be between 1 and 4096 (was {BatchSize}).");
        InvalidSettingException.Check(EvalBatchSize is >= 1 and <= 4096, "evalBatchSize", $"evalBatchSize must be between 1 and 4096 (was {EvalBatchSize}).");
        InvalidSettingException.Check(Bptt is >= 1 and <= 10000, "bptt", $"bptt must be between 1 and 10000 (was {Bptt}).");
        InvalidSettingException.Check(Patience is >= 0 and <= 1000, "patience", $"patience must be between 0 and 1000 (was {Patience}).");
        InvalidSettingException.Check(Enum.IsDefined(Schedule), "schedule", "schedule must be one of plateau, cosine.");
        InvalidSettingException.Check(WarmupSteps is >= 0 and <= 10_000_000, "warmupSteps", $"warmupSteps must be between 0 and 10000000 (was {WarmupSteps}).");
        InvalidSettingException.Check(Finite(MinLearningRateFraction) && MinLearningRateFraction is >= 0 and <= 1, "minLearningRateFraction",
            $"minLearningRateFraction must be between 0 and 1 (was {MinLearningRateFraction}).");
        InvalidSettingException.Check(GradientAccumulation is >= 1 and <= 64, "gradientAccumulation", $"gradientAccumulation must be between 1 and 64 (was {GradientAccumulation}).");
        InvalidSettingException.Check(BatchSize % GradientAccumulation == 0, "gradientAccumulation",
            $"gradientAccumulation must divide batchSize: each batch of {BatchSize} streams is cut into {GradientAccumulation} equal micro-batches.");
        InvalidSettingException.Check(MaxSteps is null or (>= 1 and <= 1_000_000_000), "maxSteps", $"maxSteps must be between 1 and 1000000000 (was {MaxSteps}).");
        InvalidSettingException.Check(MaxMinutes is null || (Finite(MaxMinutes.Value) && MaxMinutes > 0 && MaxMinutes <= 100_000), "maxMinutes",
            $"maxMinutes must be above 0 and at most 100000 (was {MaxMinutes}).");
        InvalidSettingException.Check(Finite(ActivationRegularization) && ActivationRegularization is >= 0 and <= 100, "activationRegularization",
            $"activationRegularization must be between 0 and 100 (was {ActivationRegularization}).");
        InvalidSettingException.Check(Finite(TemporalActivationRegularization) && TemporalActivationRegularization is >= 0 and <= 100, "temporalActivationRegularization",
            $"temporalActivationRegularization must be between 0 and 100 (was {TemporalActivationRegularization}).");
        InvalidSettingException.Check(NonmonoInterval is >= 0 and <= 1000, "nonmonoInterval", $"nonmonoInterval must be between 0 and 1000 (was {NonmonoInterval}).");
    }
}
