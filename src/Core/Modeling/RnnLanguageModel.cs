using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RnnLmService.Core.Modeling;

/// <summary>
/// Embedding → LSTM | GRU | tanh RNN → dropout → linear decoder over the vocabulary (or an
/// <see cref="AdaptiveSoftmax"/>, field <c>adaptive</c>, when <see cref="ModelOptions.AdaptiveSoftmaxCutoffs"/> is set).
/// Input (T, B) token ids; output logits (T, B, V) and the new hidden state (layers, B, H); with the adaptive
/// softmax the "logits" are the log-probabilities themselves (their softmax is the same distribution).
/// The output side has two entry points that work for both decoders: <see cref="LogProbs"/> maps hidden rows
/// (N, H) to log-probabilities (N, V), and <see cref="TargetLogProbs"/> gives log p(target) (N) without the full matrix.
/// The field names (<c>encoder</c>, <c>rnn</c>, <c>decoder</c>, <c>drop</c>) are the weight-file format:
/// renaming one breaks saved models, and needs a new <see cref="Storage.Models.ModelManifest.CurrentFormatVersion"/>.
/// </summary>
public sealed class RnnLanguageModel : Module<Tensor, RnnState, (Tensor Logits, RnnState State)>
{
#pragma warning disable IDE1006 // field names are the weight names
    private readonly Embedding encoder;
    private readonly Module rnn;
    private readonly Linear? decoder;                // full softmax only
    private readonly AdaptiveSoftmax? adaptive;      // adaptive softmax only
    private readonly Dropout drop;
#pragma warning restore IDE1006

    /// <summary>The architecture this model was built with.</summary>
    public ModelOptions Options { get; }

    /// <summary>Number of tokens in the vocabulary (rows of the embedding, outputs of the decoder).</summary>
    public int VocabularySize { get; }

    /// <summary>Time steps run through the recurrent layers since construction (counts work, for tests).</summary>
    public long StepsRun { get; private set; }

    /// <summary>Builds the model; validates the options first.</summary>
    public RnnLanguageModel(int vocabularySize, ModelOptions options) : base(nameof(RnnLanguageModel))
    {
        options.Validate();
        InvalidSettingException.Check(vocabularySize >= 2, "vocabularySize", $"the vocabulary needs at least 2 tokens (was {vocabularySize}).");
        Options = options;
        VocabularySize = vocabularySize;

        var between = options.Layers > 1 ? options.Dropout : 0.0;
        encoder = Embedding(vocabularySize, options.EmbeddingSize);
        rnn = options.CellType switch
        {
            CellType.Lstm => LSTM(options.EmbeddingSize, options.HiddenSize, options.Layers, dropout: between),
            CellType.Gru => GRU(options.EmbeddingSize, options.HiddenSize, options.Layers, dropout: between),
            _ => RNN(options.EmbeddingSize, options.HiddenSize, options.Layers, NonLinearities.Tanh, dropout: between),
        };
        if (options.IsAdaptive)
            adaptive = new AdaptiveSoftmax(options.HiddenSize, vocabularySize, options.AdaptiveSoftmaxCutoffs!, options.AdaptiveSoftmaxDivValue);
        else
            decoder = Linear(options.HiddenSize, vocabularySize);
        drop = Dropout(options.Dropout);

        using (no_grad())
        {
            // Classic initialisation: small uniform embeddings and decoder, zero decoder bias.
            init.uniform_(encoder.weight!, -0.1, 0.1);
            if (decoder is not null)
            {
                init.uniform_(decoder.weight!, -0.1, 0.1);
                init.zeros_(decoder.bias!);
            }
        }
        if (options.TieWeights) decoder!.weight = encoder.weight!;
        RegisterComponents();
    }

    /// <summary>A zero hidden state for <paramref name="batchSize"/> parallel sequences.</summary>
    public RnnState InitialState(long batchSize)
    {
        var shape = new long[] { Options.Layers, batchSize, Options.HiddenSize };
        return new RnnState(zeros(shape), Options.CellType == CellType.Lstm ? zeros(shape) : null);
    }

    /// <summary>Runs the model. <paramref name="input"/> is (T, B) int64.</summary>
    public override (Tensor Logits, RnnState State) forward(Tensor input, RnnState state)
    {
        var (output, next) = Hidden(input, state);                      // (T, B, H)
        using (output)
        {
            if (decoder is not null) return (decoder.call(output), next); // (T, B, V)
            var (t, b) = (output.shape[0], output.shape[1]);
            using var flat = output.reshape(t * b, -1);
            using var lp = adaptive!.call(flat);                         // (T*B, V)
            return (lp.view(t, b, -1), next);
        }
    }

    /// <summary>The decoder's input: embedding → RNN → dropout, (T, B, H) for input (T, B), and the new state.</summary>
    public (Tensor Output, RnnState State) Hidden(Tensor input, RnnState state)
    {
        StepsRun += input.shape[0];
        using var emb = drop.call(encoder.call(input));                  // (T, B, E)
        Tensor output;
        RnnState next;
        switch (rnn)
        {
            case LSTM lstm:
                var (o, h, c) = lstm.call(emb, (state.H, state.C!));
                output = o; next = new RnnState(h, c);
                break;
            case GRU gru:
                var (og, hg) = gru.call(emb, state.H);
                output = og; next = new RnnState(hg, null);
                break;
            default:
                var (or, hr) = ((RNN)rnn).call(emb, state.H);
                output = or; next = new RnnState(hr, null);
                break;
        }
        var dropped = drop.call(output);                                 // (T, B, H)
        output.Dispose();
        return (dropped, next);
    }

    /// <summary>Log-probabilities over the vocabulary: hidden rows (N, H) → (N, V), for either decoder.</summary>
    public Tensor LogProbs(Tensor hidden) =>
        decoder is not null ? decoder.call(hidden).log_softmax(-1) : adaptive!.call(hidden);

    /// <summary>
    /// log p(target) for each row: hidden rows (N, H) and targets (N) int64 → (N), differentiable; the
    /// training loss is its negated mean. The adaptive softmax computes it without the (N, V) matrix.
    /// </summary>
    public Tensor TargetLogProbs(Tensor hidden, Tensor targets)
    {
        if (adaptive is not null) return adaptive.TargetLogProbs(hidden, targets);
        using var logits = decoder!.call(hidden);                        // (N, V)
        using var nll = nn.functional.cross_entropy(logits, targets, reduction: nn.Reduction.None);
        return nll.neg();
    }

    /// <summary>Trainable parameters, each once even when weights are tied.</summary>
    public IReadOnlyList<Parameter> UniqueParameters() =>
        named_parameters().Where(p => !(Options.TieWeights && p.name == "decoder.weight")).Select(p => p.parameter).ToList();
}
