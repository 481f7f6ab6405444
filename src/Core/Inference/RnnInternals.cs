using RnnLmService.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// What happened inside the recurrent layers for one sequence: every layer's hidden (and, for an LSTM, cell)
/// values and gate activations at every step, and the decoder's logits (null when not asked for; an adaptive softmax gives log-probabilities). Tensors are
/// (T, hidden) or (T, V).
/// </summary>
public sealed record RnnTrace(IReadOnlyList<LayerTrace> Layers, Tensor? Logits);

/// <summary>One layer over a sequence: outputs (T, H), LSTM cell (T, H) or null, gate activations by name (T, H).</summary>
public sealed record LayerTrace(Tensor Hidden, Tensor? Cell, IReadOnlyDictionary<string, Tensor> Gates);

/// <summary>
/// Recomputes the model's recurrent layers step by step from their weights, because TorchSharp's fused
/// LSTM/GRU/RNN return neither the gates nor the outputs of the lower layers. Follows PyTorch's equations and
/// weight layouts (LSTM gates i, f, g, o; GRU gates r, z, n). Eval-mode semantics: no dropout. The weights are
/// detached, so gradients flow only to the embeddings passed in (gradient × input needs exactly that).
/// </summary>
public sealed class RnnInternals
{
    /// <summary>Gate names reported per cell type (the candidate g/n is not a gate and is not reported).</summary>
    public static IReadOnlyList<string> GateNames(CellType cell) => cell switch
    {
        CellType.Lstm => ["input", "forget", "output"],
        CellType.Gru => ["reset", "update"],
        _ => [],
    };

    private readonly Dictionary<string, Tensor> weights;

    /// <summary>
    /// Reads the weights of <paramref name="net"/>: shared storage when <paramref name="dtype"/> is theirs, else
    /// converted copies (float64 makes gradients exact enough to compare with finite differences).
    /// </summary>
    public RnnInternals(RnnLanguageModel net, ScalarType dtype = ScalarType.Float32)
    {
        Options = net.Options;
        weights = net.named_parameters().ToDictionary(p => RnnLanguageModel.FusedName(p.name), p => p.parameter.detach().to(dtype));   // per-layer modules too
        if (!Options.IsAdaptive && !weights.ContainsKey("decoder.weight")) weights["decoder.weight"] = weights["encoder.weight"];   // tied weights
        if (Options.IsAdaptive) adaptiveBounds = AdaptiveSoftmax.BoundsFor(Options.AdaptiveSoftmaxCutoffs!, net.VocabularySize);
    }

    private readonly int[]? adaptiveBounds;

    /// <summary>The architecture.</summary>
    public ModelOptions Options { get; }

    /// <summary>The input embedding matrix (V, E).</summary>
    public Tensor Embeddings => Weight("encoder.weight");

    /// <summary>Looks up the embeddings of <paramref name="ids"/>: (T) → (T, E).</summary>
    public Tensor Embed(long[] ids) => Embeddings.index_select(0, tensor(ids));

    /// <summary>
    /// Runs one sequence of embeddings (T, E) from a zero state; every tensor of the result lives in the
    /// caller's dispose scope. Without <paramref name="logits"/> the decoder is skipped (T × V can be large).
    /// </summary>
    public RnnTrace Run(Tensor embedded, bool logits = true)
    {
        var layers = new List<LayerTrace>(Options.Layers);
        var input = embedded;
        for (var k = 0; k < Options.Layers; k++)
        {
            var layer = RunLayer(k, input);
            layers.Add(layer);
            input = layer.Hidden;
        }
        var output = !logits ? null                                                                                   // (T, V)
            : adaptiveBounds is null ? nn.functional.linear(input, Weight("decoder.weight"), Weight("decoder.bias"))
            : AdaptiveSoftmax.LogProbs(input, adaptiveBounds, name => Weight("adaptive." + name));                    // log-probabilities: the same softmax
        return new RnnTrace(layers, output);
    }

    private LayerTrace RunLayer(int k, Tensor x)
    {
        var steps = x.shape[0];
        var h = zeros(Options.HiddenSize, dtype: x.dtype);
        var c = zeros(Options.HiddenSize, dtype: x.dtype);
        // Input projections of all steps at once: (T, G·H).
        var projected = nn.functional.linear(x, Weight($"rnn.weight_ih_l{k}"), Weight($"rnn.bias_ih_l{k}"));
        var wHh = Weight($"rnn.weight_hh_l{k}");
        var bHh = Weight($"rnn.bias_hh_l{k}");
        var hs = new List<Tensor>();
        var cs = new List<Tensor>();
        var gates = GateNames(Options.CellType).ToDictionary(n => n, _ => new List<Tensor>());
        for (var t = 0; t < steps; t++)
        {
            var xi = projected[t];                                          // (G·H)
            var hh = nn.functional.linear(h, wHh, bHh);                     // (G·H)
            switch (Options.CellType)
            {
                case CellType.Lstm:
                    var parts = (xi + hh).chunk(4);
                    var (i, f, g, o) = (parts[0].sigmoid(), parts[1].sigmoid(), parts[2].tanh(), parts[3].sigmoid());
                    c = f * c + i * g;
                    h = o * c.tanh();
                    gates["input"].Add(i); gates["forget"].Add(f); gates["output"].Add(o);
                    cs.Add(c);
                    break;
                case CellType.Gru:
                    var xs = xi.chunk(3);
                    var hp = hh.chunk(3);
                    var r = (xs[0] + hp[0]).sigmoid();
                    var z = (xs[1] + hp[1]).sigmoid();
                    var n = (xs[2] + r * hp[2]).tanh();
                    h = (1 - z) * n + z * h;
                    gates["reset"].Add(r); gates["update"].Add(z);
                    break;
                default:
                    h = (xi + hh).tanh();
                    break;
            }
            hs.Add(h);
        }
        return new LayerTrace(
            stack(hs),
            cs.Count > 0 ? stack(cs) : null,
            gates.ToDictionary(p => p.Key, p => stack(p.Value)));
    }

    private Tensor Weight(string name) =>
        weights.TryGetValue(name, out var w) ? w : throw new InvalidOperationException($"The model has no parameter '{name}'.");
}
