using static TorchSharp.torch;

namespace RnnLmService.Core.Modeling;

/// <summary>Dropout masks of the AWD-LSTM recipe (Merity et al. 2017), drawn from the global torch generator.</summary>
public static class Regularizers
{
    /// <summary>A mask of the given shape: 0 with probability <paramref name="rate"/>, else 1/(1-rate) (inverted dropout).</summary>
    public static Tensor KeepMask(long[] shape, double rate) =>
        empty(shape).bernoulli_(1 - rate).div_(1 - rate);

    /// <summary>
    /// Locked (variational) dropout of a (T, B, F) tensor: one mask per sequence and feature, the same at every time step.
    /// Returns the input itself (not a copy) when off.
    /// </summary>
    public static Tensor LockedDropout(Tensor x, double rate, bool training)
    {
        if (!training || rate <= 0) return x.alias();
        using var mask = KeepMask([1, x.shape[1], x.shape[2]], rate);  // (1, B, F), broadcast over T
        return x.mul(mask);
    }
}
