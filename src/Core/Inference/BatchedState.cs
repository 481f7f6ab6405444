using RnnLmService.Core.Modeling;

namespace RnnLmService.Core.Inference;

/// <summary>
/// The recurrent state of a whole generation batch, (layers, B, H), shared by the B streams it was stepped for:
/// row r belongs to the stream bound to it. While the same streams step together again, the next step takes this
/// tensor as it is instead of joining B single-row copies. Counted: disposed when the last stream lets go.
/// </summary>
internal sealed class BatchedState(RnnState state)
{
    private int holders;

    /// <summary>The batch's state (layers, B, H); owned by this object.</summary>
    public RnnState State { get; } = state;

    /// <summary>Rows in the batch.</summary>
    public long Size => State.BatchSize;

    public void Hold() => Interlocked.Increment(ref holders);

    public void Release()
    {
        if (Interlocked.Decrement(ref holders) == 0) State.Dispose();
    }
}
