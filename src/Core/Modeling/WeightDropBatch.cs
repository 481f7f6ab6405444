using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RnnLmService.Core.Modeling;

/// <summary>
/// DropConnect on the hidden-to-hidden weights for one batch (AWD-LSTM's WeightDrop), keeping the fused RNN kernel:
/// the weights are multiplied by a mask in place, the batch runs, and <see cref="MaskGradients"/> turns the gradient
/// with respect to the masked weight W' = M ⊙ W into the gradient with respect to W (dL/dW = M ⊙ dL/dW', the chain rule
/// through an element-wise product); <see cref="Dispose"/> puts the raw weights back before the optimizer step.
/// </summary>
public sealed class WeightDropBatch : IDisposable
{
    private readonly List<(Parameter Weight, Tensor Raw, Tensor Mask)> masked = [];

    /// <summary>Draws one mask per weight (drop rate <paramref name="rate"/>, survivors scaled by 1/(1-rate)) and applies it.</summary>
    public WeightDropBatch(IReadOnlyList<Parameter> weights, double rate)
    {
        using var noGrad = no_grad();
        foreach (var w in weights)
        {
            var raw = w.detach().clone().DetachFromDisposeScope();
            var mask = Regularizers.KeepMask(w.shape, rate).DetachFromDisposeScope();
            w.mul_(mask);
            masked.Add((w, raw, mask));
        }
    }

    /// <summary>The masks of this batch, one per hidden-to-hidden weight (for tests).</summary>
    public IReadOnlyList<Tensor> Masks => masked.Select(m => m.Mask).ToList();

    /// <summary>Call after backward: multiplies each weight's gradient by its mask.</summary>
    public void MaskGradients()
    {
        using var noGrad = no_grad();
        foreach (var (w, _, mask) in masked) w.grad?.mul_(mask);
    }

    /// <summary>Restores the raw weights.</summary>
    public void Dispose()
    {
        using (no_grad())
            foreach (var (w, raw, _) in masked) w.copy_(raw);
        foreach (var (_, raw, mask) in masked)
        {
            raw.Dispose();
            mask.Dispose();
        }
        masked.Clear();
    }
}
