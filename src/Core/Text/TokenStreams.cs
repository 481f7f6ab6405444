using static TorchSharp.torch;

namespace RnnLmService.Core.Text;

/// <summary>
/// The classic word-LM batching (<see cref="Batching"/>) over <see cref="ITokenIds"/> without laying the whole split
/// out as a tensor: B parallel streams, stream b = ids[b·T .. b·T+T), T = Count / B; each window is copied from the
/// ids when it is needed. Gives exactly the tensors of <see cref="Batching.Batchify"/> + <see cref="Batching.GetBatch"/>.
/// </summary>
public sealed class TokenStreams
{
    private readonly ITokenIds _ids;

    /// <summary>Cuts <paramref name="ids"/> into <paramref name="streams"/> streams; <see cref="CorpusException"/> naming <paramref name="field"/> when a stream would hold fewer than 2 tokens.</summary>
    public TokenStreams(ITokenIds ids, int streams, string field = "batchSize")
    {
        ArgumentNullException.ThrowIfNull(ids);
        InvalidSettingException.Check(streams >= 1, field, $"{field} must be at least 1 (got {streams}).");
        _ids = ids;
        Streams = streams;
        Steps = ids.Count / streams;
        if (Steps < 2)
            throw new CorpusException(field,
                $"{ids.Count} tokens cannot fill {streams} streams of at least 2 tokens; use a smaller {field} or more text.");
    }

    /// <summary>B, the number of parallel streams.</summary>
    public int Streams { get; }

    /// <summary>T, the length of each stream.</summary>
    public long Steps { get; }

    /// <summary>
    /// The window at row <paramref name="i"/>: input (len, B) and target (len·B), len = min(bptt, T-1-i), as int64
    /// tensors owned by the current dispose scope.
    /// </summary>
    public (Tensor Input, Tensor Target) GetBatch(long i, int bptt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bptt, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, Steps - 1);
        var len = (int)Math.Min(bptt, Steps - 1 - i);
        var rows = len + 1;
        var stream = new long[rows];
        var layout = new long[rows * Streams];                          // row-major (len+1, B)
        for (var b = 0; b < Streams; b++)
        {
            _ids.Read(b * Steps + i, stream);
            for (var t = 0; t < rows; t++) layout[t * Streams + b] = stream[t];
        }
        using var window = tensor(layout, [rows, Streams], ScalarType.Int64);
        var input = window.narrow(0, 0, len);                          // (len, B)
        using var shifted = window.narrow(0, 1, len);
        var target = shifted.reshape(-1);                              // (len*B)
        return (input, target);
    }
}
