using RnnLmService.Core.Modeling;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// Reads token sequences of different lengths to their ends and returns each one's own final state, never
/// decoding: the sequences run as packed batches (no padding steps, so a short sequence's state is not
/// overwritten by the padding after it) in time windows of at most <c>chunkTokens</c> tokens per RNN call, the
/// state carried from one window to the next. A 20,000-character context thus costs bounded memory, and
/// answers the same as when it is read in one call.
/// </summary>
internal static class ContextRunner
{
    /// <summary>
    /// Runs <paramref name="suffixes"/>[j] from row j of <paramref name="start"/> (layers, B, H); returns the states
    /// after each suffix, in the same order (an empty suffix keeps its start state). The caller owns the result.
    /// </summary>
    public static RnnState Run(RnnLanguageModel net, IReadOnlyList<long[]> suffixes, RnnState start, int chunkTokens, long padId)
    {
        var h = start.H.clone();                                                   // (layers, B, H)
        var c = start.C?.clone();
        for (var t0 = 0; ; )
        {
            // Sequences still running, longest first (packing wants decreasing lengths).
            var active = Enumerable.Range(0, suffixes.Count).Where(j => suffixes[j].Length > t0)
                .OrderByDescending(j => suffixes[j].Length).ToArray();
            if (active.Length == 0) break;
            var window = Math.Max(1, chunkTokens / active.Length);
            var lengths = active.Select(j => (long)Math.Min(window, suffixes[j].Length - t0)).ToArray();
            var steps = (int)lengths[0];
            using (var scope = NewDisposeScope())
            {
                var flat = new long[steps * active.Length];
                for (var a = 0; a < active.Length; a++)
                    for (var t = 0; t < steps; t++)
                        flat[t * active.Length + a] = t < lengths[a] ? suffixes[active[a]][t0 + t] : padId;   // right padding
                var input = tensor(flat, [steps, active.Length]);                  // (T, A)
                var index = tensor(active.Select(j => (long)j).ToArray());
                var state = new RnnState(h.index_select(1, index), c?.index_select(1, index));
                var next = net.RecurPacked(input, lengths, state);
                h.index_copy_(1, index, next.H);
                c?.index_copy_(1, index, next.C!);
            }
            t0 += steps;
        }
        return new RnnState(h, c);
    }
}
