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

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        InvalidSettingException.Check(Enum.IsDefined(CellType), "cellType", "cellType must be one of lstm, gru, rnnTanh.");
        InvalidSettingException.Check(EmbeddingSize is >= 1 and <= 4096, "embeddingSize", $"embeddingSize must be between 1 and 4096 (was {EmbeddingSize}).");
        InvalidSettingException.Check(HiddenSize is >= 1 and <= 8192, "hiddenSize", $"hiddenSize must be between 1 and 8192 (was {HiddenSize}).");
        InvalidSettingException.Check(Layers is >= 1 and <= 16, "layers", $"layers must be between 1 and 16 (was {Layers}).");
        InvalidSettingException.Check(Dropout is >= 0 and < 1 && !double.IsNaN(Dropout), "dropout", $"dropout must be at least 0 and below 1 (was {Dropout}).");
        InvalidSettingException.Check(!TieWeights || EmbeddingSize == HiddenSize, "tieWeights",
            $"tied weights need embeddingSize equal to hiddenSize (embeddingSize {EmbeddingSize}, hiddenSize {HiddenSize}).");
    }
}
