using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RnnLmService.Core.Modeling;

/// <summary>What one forward pass produced: logits, the new state and, when asked, the last layer's output.</summary>
/// <param name="Logits">(T, B, V).</param>
/// <param name="State">The hidden state after the last step.</param>
/// <param name="Output">The last recurrent layer's output (T, B, H) before output dropout, when asked (for TAR).</param>
/// <param name="DroppedOutput">The same after output dropout, when asked (for AR).</param>
public sealed record ForwardResult(Tensor Logits, RnnState State, Tensor? Output, Tensor? DroppedOutput);

/// <summary>What one training forward pass produced: the mean loss, the new state and, when asked, the last layer's output.</summary>
/// <param name="Loss">Mean negative log-likelihood of the targets (a scalar, differentiable).</param>
/// <param name="State">The hidden state after the last step.</param>
/// <param name="Output">The last recurrent layer's output (T, B, H) before output dropout, when asked (for TAR).</param>
/// <param name="DroppedOutput">The same after output dropout, when asked (for AR).</param>
public sealed record LossResult(Tensor Loss, RnnState State, Tensor? Output, Tensor? DroppedOutput);

/// <summary>
/// Embedding → LSTM | GRU | tanh RNN → dropout → linear decoder over the vocabulary (or an
/// <see cref="AdaptiveSoftmax"/>, field <c>adaptive</c>, when <see cref="ModelOptions.AdaptiveSoftmaxCutoffs"/> is set).
/// Input (T, B) token ids; output logits (T, B, V) and the new hidden state (layers, B, H); with the adaptive
/// softmax the "logits" are the log-probabilities themselves (their softmax is the same distribution).
/// Every output entry point works for both output layers: <see cref="Decode"/> and <see cref="LogProbs"/> map the
/// recurrent outputs (…, H) to (…, V), <see cref="TargetLogProbs"/> gives log p(target) (N) and
/// <see cref="ForwardLoss"/> the training loss without the full (N, V) matrix.
/// The field names (<c>encoder</c>, <c>rnn</c>, <c>decoder</c>, <c>drop</c>) are the weight-file format:
/// renaming one breaks saved models, and needs a new <see cref="Storage.Models.ModelManifest.CurrentFormatVersion"/>.
/// With <see cref="ModelOptions.LockedDropout"/> the recurrent layers are one module each (<c>rnns.{k}</c>,
/// model format 2) so that a locked mask can sit between them; otherwise one fused module (<c>rnn</c>, format 1).
/// </summary>
public sealed class RnnLanguageModel : Module<Tensor, RnnState, (Tensor Logits, RnnState State)>
{
#pragma warning disable IDE1006 // field names are the weight names
    private readonly Embedding encoder;
    private readonly Module? rnn;
    private readonly ModuleList<Module>? rnns;
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

        encoder = Embedding(vocabularySize, options.EmbeddingSize);
        if (options.LockedDropout)
            rnns = ModuleList(Enumerable.Range(0, options.Layers)
                .Select(k => Recurrent(options.CellType, k == 0 ? options.EmbeddingSize : options.HiddenSize, options.HiddenSize, 1, 0.0)).ToArray());
        else
            rnn = Recurrent(options.CellType, options.EmbeddingSize, options.HiddenSize, options.Layers, options.Layers > 1 ? options.Dropout : 0.0);
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

    private static Module Recurrent(CellType cell, long input, long hidden, long layers, double between) => cell switch
    {
        CellType.Lstm => LSTM(input, hidden, layers, dropout: between),
        CellType.Gru => GRU(input, hidden, layers, dropout: between),
        _ => RNN(input, hidden, layers, NonLinearities.Tanh, dropout: between),
    };

    /// <summary>A zero hidden state for <paramref name="batchSize"/> parallel sequences.</summary>
    public RnnState InitialState(long batchSize)
    {
        var shape = new long[] { Options.Layers, batchSize, Options.HiddenSize };
        return new RnnState(zeros(shape), Options.CellType == CellType.Lstm ? zeros(shape) : null);
    }

    /// <summary>Runs the model. <paramref name="input"/> is (T, B) int64.</summary>
    public override (Tensor Logits, RnnState State) forward(Tensor input, RnnState state)
    {
        var r = Forward(input, state, keepOutput: false);
        return (r.Logits, r.State);
    }

    /// <summary>Runs the model; with <paramref name="keepOutput"/> also returns the last layer's output before and after dropout.</summary>
    public ForwardResult Forward(Tensor input, RnnState state, bool keepOutput)
    {
        var (output, next) = Recur(input, state);                          // (T, B, H)
        var dropped = DropOutput(output);
        var logits = Output(dropped);                                      // (T, B, V)
        if (keepOutput) return new ForwardResult(logits, next, output, dropped);
        dropped.Dispose();
        output.Dispose();
        return new ForwardResult(logits, next, null, null);
    }

    /// <summary>
    /// The embedding and recurrent layers only: (T, B) ids → the last layer's outputs (T, B, H), before output dropout,
    /// and the state after the last step.
    /// </summary>
    public (Tensor Output, RnnState State) Recur(Tensor input, RnnState state)
    {
        StepsRun += input.shape[0];
        using var words = Embed(input);                                    // (T, B, E)
        using var emb = Options.LockedDropout
            ? Regularizers.LockedDropout(words, Options.InputDropout ?? Options.Dropout, training)
            : drop.call(words);
        return rnns is null ? RunFused(rnn!, emb, state) : RunLayers(emb, state);
    }

    /// <summary>
    /// Output dropout and the decoder: outputs (…, H) → logits (…, V). With the adaptive softmax the "logits" are the
    /// log-probabilities themselves (their softmax is the same distribution), so every caller that takes a
    /// (log-)softmax, a top-k or a sample of them works unchanged.
    /// </summary>
    public Tensor Decode(Tensor output)
    {
        using var dropped = DropOutput(output);
        return Output(dropped);
    }

    /// <summary>Output dropout and the decoder as log-probabilities: outputs (…, H) → (…, V), for either output layer.</summary>
    public Tensor LogProbs(Tensor output)
    {
        using var decoded = Decode(output);
        return adaptive is null ? decoded.log_softmax(-1) : decoded.alias();
    }

    /// <summary>
    /// Output dropout, then log p(target) for each row: outputs (N, H) and targets (N) int64 → (N), differentiable.
    /// The adaptive softmax computes it without the (N, V) matrix (each tail runs on its own targets' rows only).
    /// </summary>
    public Tensor TargetLogProbs(Tensor output, Tensor targets)
    {
        using var dropped = DropOutput(output);
        if (adaptive is not null) return adaptive.TargetLogProbs(dropped, targets);
        using var logits = decoder!.call(dropped);                         // (N, V)
        using var nll = nn.functional.cross_entropy(logits, targets, reduction: nn.Reduction.None);
        return nll.neg();
    }

    /// <summary>
    /// The training forward pass: the mean negative log-likelihood of <paramref name="targets"/> ((T·B) int64, row
    /// t·B + b) and the new state; with <paramref name="keepOutput"/> also the last layer's output before and after
    /// dropout (for AR/TAR). The full softmax computes it as cross-entropy over the logits (as before the adaptive
    /// softmax existed); the adaptive softmax without the (T·B, V) matrix.
    /// </summary>
    public LossResult ForwardLoss(Tensor input, RnnState state, Tensor targets, bool keepOutput)
    {
        var (output, next) = Recur(input, state);                          // (T, B, H)
        var dropped = DropOutput(output);
        Tensor loss;
        if (adaptive is null)
        {
            using var logits = decoder!.call(dropped);                     // (T, B, V)
            loss = nn.functional.cross_entropy(logits.view(-1, VocabularySize), targets);
        }
        else
        {
            using var flat = dropped.reshape(targets.shape[0], -1);       // (T·B, H)
            using var lp = adaptive.TargetLogProbs(flat, targets);        // (T·B)
            loss = lp.mean().neg();
        }
        if (keepOutput) return new LossResult(loss, next, output, dropped);
        dropped.Dispose();
        output.Dispose();
        return new LossResult(loss, next, null, null);
    }

    /// <summary>The output layer on dropped outputs (…, H) → (…, V): decoder logits, or adaptive-softmax log-probabilities.</summary>
    private Tensor Output(Tensor dropped)
    {
        if (decoder is not null) return decoder.call(dropped);
        var shape = dropped.shape;
        using var flat = dropped.reshape(-1, shape[^1]);                   // (N, H)
        using var lp = adaptive!.call(flat);                               // (N, V)
        return lp.view([.. shape[..^1], VocabularySize]);
    }

    private Tensor DropOutput(Tensor output) => Options.LockedDropout
        ? Regularizers.LockedDropout(output, Options.OutputDropout ?? Options.Dropout, training)
        : drop.call(output);

    /// <summary>The embedding lookup; in training with <see cref="ModelOptions.EmbeddingDropout"/>, whole words dropped.</summary>
    private Tensor Embed(Tensor input)
    {
        var embedded = encoder.call(input);                             // (T, B, E)
        if (!training || Options.EmbeddingDropout <= 0) return embedded;
        // One keep/drop draw per vocabulary word, so every occurrence of a word in the batch is dropped together:
        // the same as masking rows of the embedding matrix (AWD-LSTM's embedded_dropout), gathering only the rows used.
        using var keep = Regularizers.KeepMask([VocabularySize], Options.EmbeddingDropout);   // (V)
        using var perToken = keep.index_select(0, input.reshape(-1)).view(input.shape[0], input.shape[1], 1);
        using (embedded) return embedded.mul(perToken);
    }

    private static (Tensor Output, RnnState State) RunFused(Module module, Tensor emb, RnnState state)
    {
        switch (module)
        {
            case LSTM lstm:
                var (o, h, c) = lstm.call(emb, (state.H, state.C!));
                return (o, new RnnState(h, c));
            case GRU gru:
                var (og, hg) = gru.call(emb, state.H);
                return (og, new RnnState(hg, null));
            default:
                var (or, hr) = ((RNN)module).call(emb, state.H);
                return (or, new RnnState(hr, null));
        }
    }

    /// <summary>One module per layer with locked dropout between them; the state stays (layers, B, H).</summary>
    private (Tensor Output, RnnState State) RunLayers(Tensor emb, RnnState state)
    {
        var hs = new List<Tensor>();
        var cs = new List<Tensor>();
        var x = emb;
        for (var k = 0; k < rnns!.Count; k++)
        {
            var layerState = new RnnState(state.H.narrow(0, k, 1), state.C?.narrow(0, k, 1));
            var (output, next) = RunFused(rnns[k], x, layerState);
            hs.Add(next.H);
            if (next.C is not null) cs.Add(next.C);
            x = k < rnns.Count - 1 ? Regularizers.LockedDropout(output, Options.HiddenDropout ?? Options.Dropout, training) : output;
        }
        return (x, new RnnState(cat(hs, 0), cs.Count > 0 ? cat(cs, 0) : null));
    }

    /// <summary>
    /// In training with <see cref="ModelOptions.WeightDrop"/>, masks the hidden-to-hidden weights in place for one batch
    /// (the fused kernel reads them); null otherwise. Dispose it after backward and before the optimizer step.
    /// </summary>
    public WeightDropBatch? BeginWeightDrop() =>
        training && Options.WeightDrop > 0
            ? new WeightDropBatch(named_parameters().Where(p => p.name.Contains("weight_hh", StringComparison.Ordinal)).Select(p => p.parameter).ToList(), Options.WeightDrop)
            : null;

    /// <summary>
    /// The name a parameter has in the one fused multi-layer module (<c>rnn.weight_hh_l{k}</c>): a per-layer module's
    /// <c>rnns.{k}.weight_hh_l0</c> becomes <c>rnn.weight_hh_l{k}</c>, other names stay. In eval mode the two layouts
    /// compute the same function (locked dropout is off), so readers of the weights need to know only one.
    /// </summary>
    public static string FusedName(string name)
    {
        if (!name.StartsWith("rnns.", StringComparison.Ordinal)) return name;
        var dot = name.IndexOf('.', 5);
        return dot > 5 && name.EndsWith("_l0", StringComparison.Ordinal)
            ? $"rnn.{name[(dot + 1)..^3]}_l{name[5..dot]}"
            : name;
    }

    /// <summary>Trainable parameters, each once even when weights are tied.</summary>
    public IReadOnlyList<Parameter> UniqueParameters() =>
        named_parameters().Where(p => !(Options.TieWeights && p.name == "decoder.weight")).Select(p => p.parameter).ToList();
}
