using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RnnLmService.Core.Modeling;

/// <summary>
/// Adaptive softmax (Grave et al. 2017, "Efficient softmax approximation for GPUs"): the vocabulary, in
/// frequency order, is cut at <c>c1 &lt; c2 &lt; … &lt; V</c>. The head scores the <c>c1</c> most frequent tokens and
/// one token per tail cluster; tail cluster k scores ids <c>[c_k, c_{k+1})</c> from the hidden state projected down
/// to <c>H / div^k</c> units. log p(w) = log p_head(w) for a head token, log p_head(cluster k) + log p_k(w) for a
/// tail token, so the V probabilities sum to 1 by construction. Training and scoring only run the tail of each
/// target's own cluster on the rows that need it; the full (N, V) matrix is assembled only when asked for.
/// Field names (<c>head</c>, <c>tail.{k}.0</c> projection, <c>tail.{k}.1</c> output) are the weight format.
/// </summary>
public sealed class AdaptiveSoftmax : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the weight names
    private readonly Linear head;
    private readonly ModuleList<Module<Tensor, Tensor>> tail;
#pragma warning restore IDE1006
    private readonly int[] bounds; // [c1, ..., c_k, V]

    /// <summary>The cluster boundaries in use: the cutoffs below the vocabulary size, then the vocabulary size.</summary>
    public IReadOnlyList<int> Bounds => bounds;

    /// <summary>
    /// Builds the layers. Cutoffs at or above <paramref name="vocabularySize"/> are dropped; throws
    /// <see cref="InvalidSettingException"/> (<c>model.adaptiveSoftmaxCutoffs</c>) when none is left.
    /// </summary>
    public AdaptiveSoftmax(int hiddenSize, int vocabularySize, IReadOnlyList<int> cutoffs, double divValue) : base(nameof(AdaptiveSoftmax))
    {
        bounds = BoundsFor(cutoffs, vocabularySize);
        var clusters = bounds.Length - 1;
        head = Linear(hiddenSize, bounds[0] + clusters);
        tail = new ModuleList<Module<Tensor, Tensor>>();
        for (var k = 0; k < clusters; k++)
        {
            var projected = Math.Max(1, (int)Math.Floor(hiddenSize / Math.Pow(divValue, k + 1)));
            tail.Add(Sequential(Linear(hiddenSize, projected, hasBias: false), Linear(projected, bounds[k + 1] - bounds[k], hasBias: false)));
        }
        using (no_grad())
        {
            foreach (var (_, p) in named_parameters()) init.uniform_(p, -0.1, 0.1);
            init.zeros_(head.bias!);
        }
        RegisterComponents();
    }

    /// <summary>
    /// The cluster boundaries for <paramref name="cutoffs"/> over a vocabulary of <paramref name="vocabularySize"/>: the
    /// cutoffs below it, then the size. Throws <see cref="InvalidSettingException"/> (<c>model.adaptiveSoftmaxCutoffs</c>)
    /// when none is below it.
    /// </summary>
    public static int[] BoundsFor(IReadOnlyList<int> cutoffs, int vocabularySize)
    {
        var kept = cutoffs.Where(c => c < vocabularySize).ToList();
        InvalidSettingException.Check(kept.Count > 0, "model.adaptiveSoftmaxCutoffs",
            $"every adaptive softmax cutoff ({string.Join(", ", cutoffs)}) is at or above the vocabulary size {vocabularySize}; give one below it.");
        return [.. kept, vocabularySize];
    }

    /// <summary>Full log-probabilities: hidden rows (N, H) → (N, V).</summary>
    public override Tensor forward(Tensor hidden)
    {
        var parameters = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        return LogProbs(hidden, bounds, name => parameters[name]);
    }

    /// <summary>
    /// Full log-probabilities (N, H) → (N, V) from weights looked up by their names in this module
    /// (<c>head.weight</c>, <c>head.bias</c>, <c>tail.{k}.0.weight</c>, <c>tail.{k}.1.weight</c>): the module's own forward,
    /// and the interpretability code's recomputation from detached float64 copies.
    /// </summary>
    public static Tensor LogProbs(Tensor hidden, IReadOnlyList<int> bounds, Func<string, Tensor> weight)
    {
        using var scope = NewDisposeScope();
        var headLp = functional.linear(hidden, weight("head.weight"), weight("head.bias")).log_softmax(-1);   // (N, c1 + K)
        var parts = new List<Tensor> { headLp.narrow(-1, 0, bounds[0]) };                                      // (N, c1)
        for (var k = 0; k < bounds.Count - 1; k++)
        {
            var clusterLp = headLp.narrow(-1, bounds[0] + k, 1);                                               // (N, 1)
            var projected = functional.linear(hidden, weight($"tail.{k}.0.weight"));                           // (N, H / div^(k+1))
            parts.Add(functional.linear(projected, weight($"tail.{k}.1.weight")).log_softmax(-1) + clusterLp);  // (N, c_{k+1} - c_k)
        }
        return cat(parts, -1).MoveToOuterDisposeScope();                                                       // (N, V)
    }

    /// <summary>
    /// log p(target) for each row: hidden (N, H), targets (N) int64 → (N). Each tail runs only on the rows whose
    /// target lies in its cluster; differentiable (the training loss is its negated mean).
    /// </summary>
    public Tensor TargetLogProbs(Tensor hidden, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var headLp = head.call(hidden).log_softmax(-1);                                   // (N, c1 + K)
        var headTarget = targets.clone();                                                  // tail targets → their cluster token
        var tailParts = new List<(Tensor Rows, Tensor Lp)>();
        for (var k = 0; k < tail.Count; k++)
        {
            var inCluster = targets.ge(bounds[k]).logical_and(targets.lt(bounds[k + 1]));   // (N) bool
            var rows = inCluster.nonzero().squeeze(1);                                     // (n_k)
            if (rows.shape[0] == 0) continue;
            headTarget.index_fill_(0, rows, bounds[0] + k);
            var relative = (targets.index_select(0, rows) - bounds[k]).unsqueeze(1);       // (n_k, 1)
            var lp = tail[k].call(hidden.index_select(0, rows)).log_softmax(-1).gather(1, relative).squeeze(1); // (n_k)
            tailParts.Add((rows, lp));
        }
        var result = headLp.gather(1, headTarget.unsqueeze(1)).squeeze(1);                 // (N)
        foreach (var (rows, lp) in tailParts) result = result.index_add(0, rows, lp, 1);
        return result.MoveToOuterDisposeScope();
    }
}
