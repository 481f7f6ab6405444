using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RnnLmService.Core.Modeling;

/// <summary>
/// Embedding → LSTM | GRU | tanh RNN → dropout → linear decoder over the vocabulary.
/// Input (T, B) token ids; output logits (T, B, V) and the new hidden state (layers, B, H).
/// The field names (<c>encoder</c>, <c>rnn</c>, <c>decoder</c>, <c>drop</c>) are the weight-file format:
/// renaming one breaks saved models, and needs a new <see cref="Storage.Models.ModelManifest.CurrentFormatVersion"/>.
/// </summary>
public sealed class RnnLanguageModel : Module<Tensor, RnnState, (Tensor Logits, RnnState State)>
{
#pragma warning disable IDE1006 // field names are the weight names
    private readonly Embedding encoder;
    private readonly Module rnn;
    private readonly Linear decoder;
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
        decoder = Linear(options.HiddenSize, vocabularySize);
        drop = Dropout(options.Dropout);

        using (no_grad())
        {
            // Classic initialisation: small uniform embeddings and decoder, zero decoder bias.
            init.uniform_(encoder.weight!, -0.1, 0.1);
            init.uniform_(decoder.weight!, -0.1, 0.1);
            init.zeros_(decoder.bias!);
        }
        if (options.TieWeights) decoder.weight = encoder.weight!;
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
        var (output, next) = Recur(input, state);                         // (T, B, H)
        using (output) return (Decode(output), next);                    // (T, B, V)
    }

    /// <summary>The embedding and recurrent layers only: (T, B) ids → outputs (T, B, H) and the state after the last step.</summary>
    public (Tensor Output, RnnState State) Recur(Tensor input, RnnState state)
    {
        StepsRun += input.shape[0];
        using var emb = drop.call(encoder.call(input));                  // (T, B, E)
        switch (rnn)
        {
            case LSTM lstm:
                var (o, h, c) = lstm.call(emb, (state.H, state.C!));
                return (o, new RnnState(h, c));
            case GRU gru:
                var (og, hg) = gru.call(emb, state.H);
                return (og, new RnnState(hg, null));
            default:
                var (or, hr) = ((RNN)rnn).call(emb, state.H);
                return (or, new RnnState(hr, null));
        }
    }

    /// <summary>
    /// Runs right-padded sequences of different lengths as one packed batch and returns each one's own final state
    /// (state after its last real token; the top layer of H is its last output). <paramref name="input"/> is (T, B),
    /// <paramref name="lengths"/> (each ≥ 1) must be sorted in decreasing order.
    /// </summary>
    public RnnState RecurPacked(Tensor input, long[] lengths, RnnState state)
    {
        StepsRun += input.shape[0];
        using var emb = drop.call(encoder.call(input));                  // (T, B, E)
        using var lengthTensor = tensor(lengths);
        using var packed = torch.nn.utils.rnn.pack_padded_sequence(emb, lengthTensor, batch_first: false, enforce_sorted: true);
        switch (rnn)
        {
            case LSTM lstm:
                var (o, h, c) = lstm.call(packed, (state.H, state.C!));
                o.Dispose();
                return new RnnState(h, c);
            case GRU gru:
                var (og, hg) = gru.call(packed, state.H);
                og.Dispose();
                return new RnnState(hg, null);
            default:
                var (or, hr) = ((RNN)rnn).call(packed, state.H);
                or.Dispose();
                return new RnnState(hr, null);
        }
    }

    /// <summary>Dropout and the decoder: outputs (…, H) → logits (…, V).</summary>
    public Tensor Decode(Tensor output)
    {
        using var dropped = drop.call(output);
        return decoder.call(dropped);
    }

    /// <summary>Trainable parameters, each once even when weights are tied.</summary>
    public IReadOnlyList<Parameter> UniqueParameters() =>
        named_parameters().Where(p => !(Options.TieWeights && p.name == "decoder.weight")).Select(p => p.parameter).ToList();
}
