using System.Text.Json.Serialization;

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

    /// <summary>
    /// Adaptive softmax (Grave et al. 2017) instead of the full softmax: the boundaries of the frequency clusters
    /// over the vocabulary ids (most frequent first), strictly increasing, e.g. [2000, 10000]. Ids below the first
    /// form the head; each further range is a tail cluster. Boundaries at or above the vocabulary size are dropped
    /// (the vocabulary may come out smaller than its cap). Null or empty: the full softmax (today's model).
    /// </summary>
    /// <example>[2000, 10000]</example>
    public IntList? AdaptiveSoftmaxCutoffs { get; init; }

    /// <summary>Adaptive softmax only: tail cluster k (1-based) projects the hidden state to HiddenSize / divValue^k units (at least 1); 1..1000.</summary>
    public double AdaptiveSoftmaxDivValue { get; init; } = 4;

    /// <summary>Most <see cref="AdaptiveSoftmaxCutoffs"/> boundaries.</summary>
    public const int MaxAdaptiveSoftmaxCutoffs = 16;

    /// <summary>Whether the output layer is an adaptive softmax.</summary>
    [JsonIgnore]
    public bool IsAdaptive => AdaptiveSoftmaxCutoffs is { Count: > 0 };

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
        ValidateAdaptiveSoftmax();
    }

    private void ValidateAdaptiveSoftmax()
    {
        InvalidSettingException.Check(AdaptiveSoftmaxDivValue is >= 1 and <= 1000, "model.adaptiveSoftmaxDivValue",
            $"adaptiveSoftmaxDivValue must be between 1 and 1000 (was {AdaptiveSoftmaxDivValue}).");
        if (!IsAdaptive) return;
        var c = AdaptiveSoftmaxCutoffs!;
        InvalidSettingException.Check(c.Count <= MaxAdaptiveSoftmaxCutoffs, "model.adaptiveSoftmaxCutoffs", $"adaptiveSoftmaxCutoffs takes at most {MaxAdaptiveSoftmaxCutoffs} boundaries (was {c.Count}).");
        InvalidSettingException.Check(c[0] >= 2, "model.adaptiveSoftmaxCutoffs", $"the first adaptive softmax cutoff must be at least 2, so the head holds <unk> and <eos> (was {c[0]}).");
        for (var i = 1; i < c.Count; i++)
            InvalidSettingException.Check(c[i] > c[i - 1], "model.adaptiveSoftmaxCutoffs", $"adaptiveSoftmaxCutoffs must be strictly increasing (was {c}).");
        InvalidSettingException.Check(!TieWeights, "model.tieWeights",
            "tieWeights cannot be used with adaptiveSoftmaxCutoffs: the adaptive softmax has its own output layers; leave tieWeights false.");
    }

    private static void CheckRate(double rate, string field) =>
        InvalidSettingException.Check(rate is >= 0 and < 1 && !double.IsNaN(rate), field, $"{field} must be at least 0 and below 1 (was {rate}).");
}
