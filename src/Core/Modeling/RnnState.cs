using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Modeling;

/// <summary>
/// The hidden state carried between steps. <see cref="H"/> is (layers, B, hidden); for an LSTM
/// <see cref="C"/> is the cell state of the same shape, otherwise null.
/// </summary>
public sealed class RnnState(Tensor h, Tensor? c) : IDisposable
{
    /// <summary>Hidden state (layers, B, hidden).</summary>
    public Tensor H { get; } = h;

    /// <summary>LSTM cell state (layers, B, hidden), or null for GRU/RNN.</summary>
    public Tensor? C { get; } = c;

    /// <summary>Number of parallel sequences.</summary>
    public long BatchSize => H.shape[1];

    /// <summary>A copy cut off from the autograd graph (truncated BPTT).</summary>
    public RnnState Detach() => new(H.detach(), C?.detach());

    /// <summary>Moves both tensors out of the current dispose scope and returns this.</summary>
    public RnnState MoveToOuterDisposeScope()
    {
        H.MoveToOuterDisposeScope();
        C?.MoveToOuterDisposeScope();
        return this;
    }

    /// <summary>Detaches both tensors from any dispose scope (the caller owns them).</summary>
    public RnnState DetachFromDisposeScope()
    {
        H.DetachFromDisposeScope();
        C?.DetachFromDisposeScope();
        return this;
    }

    /// <summary>The state of the sequences at <paramref name="index"/> (batch dimension kept).</summary>
    public RnnState Select(long index) => new(H.narrow(1, index, 1), C?.narrow(1, index, 1));

    /// <summary>The states of <paramref name="length"/> sequences from <paramref name="start"/> (views, batch dimension kept).</summary>
    public RnnState Narrow(long start, long length) => new(H.narrow(1, start, length), C?.narrow(1, start, length));

    /// <summary>Joins states along the batch dimension.</summary>
    public static RnnState Concat(IReadOnlyList<RnnState> states) =>
        new(cat(states.Select(s => s.H).ToArray(), 1),
            states[0].C is null ? null : cat(states.Select(s => s.C!).ToArray(), 1));

    /// <summary>Copies the state into a CPU float array pair, for checkpoints.</summary>
    public (long[] Shape, float[] H, float[]? C) ToArrays() =>
        (H.shape, H.contiguous().data<float>().ToArray(), C?.contiguous().data<float>().ToArray());

    /// <summary>Rebuilds a state from <see cref="ToArrays"/>.</summary>
    public static RnnState FromArrays(long[] shape, float[] h, float[]? c) =>
        new(tensor(h, shape), c is null ? null : tensor(c, shape));

    /// <inheritdoc />
    public void Dispose()
    {
        H.Dispose();
        C?.Dispose();
    }
}
