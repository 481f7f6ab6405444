using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Training;

/// <summary>
/// The bytes a training job's process needs above the runtime's own baseline, estimated from its settings and its
/// dataset before it is queued (float32 everywhere; V = the vocabulary: <c>maxVocabularySize</c>, or fewer when the
/// dataset has fewer distinct tokens than that can hold; B = batchSize, T = bptt, E = embeddingSize, H = hiddenSize,
/// g = gates per cell: LSTM 4, GRU 3, tanh RNN 1):
/// <list type="bullet">
/// <item><b>weights</b> P = V·E + Σ_layers g·H·(in + H + 2) + H·V + V (the decoder's H·V is shared when weights are
/// tied); with the gradients (P), the optimizer's state (Adam/AdamW: 2P, SGD: 0) and <see cref="SerializationCopies"/>
/// copies made while saving: (2 + state + copies)·4P bytes;</item>
/// <item><b>training activations</b> of one step: the embedding and its dropout (2·T·B·E) and per layer what autograd
/// keeps of each time step of the cell (both gate projections, the activated gates, cell and hidden states, their
/// products: (5g + 1)·T·B·H), both doubled for the backward pass's gradients; and the softmax over the vocabulary —
/// logits, log-softmax and their gradients (4·T·B·V);</item>
/// <item><b>evaluation activations</b> (evalBatchSize instead of B, no gradients: 2·T·B·V for the softmax) — not at
/// the same time as training's, so the larger of the two counts;</item>
/// <item><b>corpus</b>: the dataset's preparation (the counting dictionary and the ranked vocabulary, about 2 bytes a
/// character and 12 a token of a small corpus) — at most <see cref="PreparationBytes"/>, since the counting spills to disk
/// and training reads windows of memory-mapped token files.</item>
/// </list>
/// Checked against the measured peak RSS (VmHWM) of real training processes in TrainingMemoryEstimateTests.
/// </summary>
public sealed record TrainingMemoryEstimate(long Weights, long TrainingActivations, long EvaluationActivations, long Corpus)
{
    /// <summary>
    /// Copies of the weights the process holds besides the live tensors, gradients and optimizer state: the best
    /// epoch's weights and the managed buffers of saving (checkpoint weights and optimizer state, the best copy's
    /// growing memory stream, the model files), which the garbage collector frees late. Fitted to the measurements of
    /// TrainingMemoryEstimateTests (2026-12-03: 2 LSTM jobs, 1-2 M weights, rise 310-350 MB).
    /// </summary>
    public const int SerializationCopies = 14;

    /// <summary>
    /// Most bytes a dataset's preparation holds: the counting pass's budget of a million distinct tokens (~100 bytes each)
    /// and the vocabulary lookup of the encoding pass, which never coexist. BPE learning also holds the train split's
    /// distinct pre-tokens (tens of thousands for English prose, whatever its size), which this does not count.
    /// </summary>
    public const long PreparationBytes = 160L * 1024 * 1024;

    /// <summary>Bytes in all.</summary>
    public long Total => Weights + Math.Max(TrainingActivations, EvaluationActivations) + Corpus;

    /// <summary>
    /// The request field that makes the job big: the largest part's setting (the vocabulary or the hidden size for
    /// the weights, the batch sizes for the activations, the dataset for the corpus).
    /// </summary>
    public string LargestField(TrainingSpec spec)
    {
        var m = spec.Model;
        var parts = new (long Bytes, string Field)[]
        {
            (Weights, VocabularyShare(spec) >= 0.5 ? "tokenizer.maxVocabularySize" : m.Layers > 2 ? "model.layers" : "model.hiddenSize"),
            (TrainingActivations, "training.batchSize"),
            (EvaluationActivations, "training.evalBatchSize"),
            (Corpus, "datasetId"),
        };
        return parts.MaxBy(p => p.Bytes).Field;
    }

    /// <summary>Estimates a job on a dataset of <paramref name="datasetBytes"/> bytes and about <paramref name="datasetTokens"/> tokens.</summary>
    public static TrainingMemoryEstimate Of(TrainingSpec spec, long datasetBytes, long datasetTokens)
    {
        var (m, o) = (spec.Model, spec.Training);
        long v = Vocabulary(spec.Tokenizer, datasetTokens), e = m.EmbeddingSize, h = m.HiddenSize, g = Gates(m.CellType);
        long t = o.Bptt, b = o.BatchSize, eb = o.EvalBatchSize;
        var parameters = Parameters(m, v);
        var stateSlots = o.Optimizer == OptimizerKind.Sgd ? 0 : 2;
        var weights = (SerializationCopies + 2 + stateSlots) * 4 * parameters;
        var rnn = m.Layers * (5 * g + 1) * t * b * h;
        var training = 4 * (2 * (2 * t * b * e + rnn) + 4 * t * b * v);
        var evaluation = 4 * (2 * t * eb * e + m.Layers * (g + 1) * t * eb * h + 2 * t * eb * v);
        var corpus = Math.Min(2 * datasetBytes + 12 * datasetTokens, PreparationBytes);
        return new TrainingMemoryEstimate(weights, training, evaluation, corpus);
    }

    /// <summary>Weights of the model (count, not bytes).</summary>
    public static long Parameters(ModelOptions m, long vocabulary)
    {
        long e = m.EmbeddingSize, h = m.HiddenSize, g = Gates(m.CellType);
        var rnn = 0L;
        for (var layer = 0; layer < m.Layers; layer++) rnn += g * h * ((layer == 0 ? e : h) + h + 2);
        return vocabulary * e + rnn + (m.TieWeights ? 0 : h * vocabulary) + vocabulary;
    }

    private double VocabularyShare(TrainingSpec spec)
    {
        var v = (double)Vocabulary(spec.Tokenizer, long.MaxValue / 4);
        var all = (double)Parameters(spec.Model, (long)v);
        return (v * spec.Model.EmbeddingSize + (spec.Model.TieWeights ? 0 : v * spec.Model.HiddenSize)) / Math.Max(1, all);
    }

    private static long Vocabulary(TokenizerOptions t, long datasetTokens) =>
        Math.Min(t.MaxVocabularySize + 3L, Math.Max(TokenizerOptions.MinVocabularySize, datasetTokens + 3));

    private static long Gates(CellType cell) => cell switch
    {
        CellType.Lstm => 4,
        CellType.Gru => 3,
        _ => 1,
    };
}
