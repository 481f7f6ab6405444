namespace RnnLmService.Core.Modeling;

/// <summary>The recurrent cell of the language model.</summary>
public enum CellType
{
    /// <summary>Long short-term memory: hidden state is (h, c).</summary>
    Lstm,
    /// <summary>Gated recurrent unit: hidden state is h.</summary>
    Gru,
    /// <summary>Plain Elman RNN with tanh: hidden state is h.</summary>
    RnnTanh,
}

/// <summary>Architecture of an RNN language model. Defaults follow the classic word-LM recipe.</summary>
public sealed record ModelOptions
{
    /// <summary>Recurrent cell.</summary>
    public CellType CellType { get; init; } = CellType.Lstm;

    /// <summary>Size of each word embedding (1..4096).</summary>
    public int EmbeddingSize { get; init; } = 200;

    /// <summary>Hidden units per layer (1..8192).</summary>
    public int HiddenSize { get; init; } = 200;

    /// <summary>Stacked recurrent layers (1..16).</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Dropout on embeddings, between layers and before the decoder, in [0, 1).</summary>
    public double Dropout { get; init; } = 0.2;

    /// <summary>Share the embedding matrix with the decoder; needs EmbeddingSize == HiddenSize.</summary>
    public bool TieWeights { get; init; }

    // AWD-LSTM regularisation (Merity et al. 2017). Each is off by default; all are off in eval mode.

    /// <summary>DropConnect rate on the hidden-to-hidden weights, one mask per batch, in [0, 1); 0 is off.</summary>
    public double WeightDrop { get; init; }

    /// <summary>Embedding dropout: the rate at which whole words (embedding rows) are dropped per batch, in [0, 1); 0 is off.</summary>
    public double EmbeddingDropout { get; init; }

    /// <summary>Locked (variational) dropout: one mask per sequence, constant along time; builds one module per layer (model format 2).</summary>
    public bool LockedDropout { get; init; }

    /// <summary>Locked-dropout rate on the embedding output; null takes <see cref="Dropout"/>. Needs <see cref="LockedDropout"/>.</summary>

    /// <example>0.4</example>
    public double? InputDropout { get; init; }

    /// <summary>Locked-dropout rate between recurrent layers; null takes <see cref="Dropout"/>. Needs <see cref="LockedDropout"/>.</summary>

    /// <example>0.25</example>
    public double? HiddenDropout { get; init; }

    /// <summary>Locked-dropout rate on the last layer's output; null takes <see cref="Dropout"/>. Needs <see cref="LockedDropout"/>.</summary>

    /// <example>0.4</example>
    public double? OutputDropout { get; init; }

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        InvalidSettingException.Check(Enum.IsDefined(CellType), "cellType", "cellType must be one of lstm, gru, rnnTanh.");
        InvalidSettingException.Check(EmbeddingSize is >= 1 and <= 4096, "embeddingSize", $"embeddingSize must be between 1 and 4096 (was {EmbeddingSize}).");
        InvalidSettingException.Check(HiddenSize is >= 1 and <= 8192, "hiddenSize", $"hiddenSize must be between 1 and 8192 (was {HiddenSize}).");
        InvalidSettingException.Check(Layers is >= 1 and <= 16, "layers", $"layers must be between 1 and 16 (was {Layers}).");
        InvalidSettingException.Check(Dropout is >= 0 and < 1 && !double.IsNaN(Dropout), "dropout", $"dropout must be at least 0 and below 1 (was {Dropout}).");
        CheckRate(WeightDrop, "weightDrop");
        CheckRate(EmbeddingDropout, "embeddingDropout");
        foreach (var (rate, field) in new[] { (InputDropout, "inputDropout"), (HiddenDropout, "hiddenDropout"), (OutputDropout, "outputDropout") })
        {
            if (rate is not { } r) continue;
            CheckRate(r, field);
            InvalidSettingException.Check(LockedDropout, field, $"{field} sets a locked-dropout rate: it needs lockedDropout true.");
        }
        InvalidSettingException.Check(!TieWeights || EmbeddingSize == HiddenSize, "tieWeights",
            $"tied weights need embeddingSize equal to hiddenSize (embeddingSize {EmbeddingSize}, hiddenSize {HiddenSize}).");
    }

    private static void CheckRate(double rate, string field) =>
        InvalidSettingException.Check(rate is >= 0 and < 1 && !double.IsNaN(rate), field, $"{field} must be at least 0 and below 1 (was {rate}).");
}
