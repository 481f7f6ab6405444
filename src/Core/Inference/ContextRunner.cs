using RnnLmService.Core.Modeling;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// Reads token sequences of different lengths to their ends and returns each one's own final state, never
/// decoding. The sequences run in rectangular segments: every sequence still running takes the same number of
/// steps (the shortest remaining length, at most <c>chunkTokens</c> tokens per RNN call in all), so no segment
/// has padding and a short sequence's state is never overwritten by steps after its end; the ones that ended drop
/// out of the next segment. A batch of equal lengths (the scheduler groups by length) is one plain fused call,
/// cheaper on the CPU than a packed sequence (measured: bench/RnnLmService.Bench NextStep.cs), and a
/// 20,000-character context costs bounded memory and answers the same as when it is read in one call.
/// </summary>
internal static class ContextRunner
{
    /// <summary>
    /// Runs <paramref name="suffixes"/>[j] from row j of <paramref name="start"/> (layers, B, H); returns the states
    /// after each suffix, in the same order (an empty suffix keeps its start state). The caller owns the result.
    /// </summary>
    public static RnnState Run(RnnLanguageModel net, IReadOnlyList<long[]> suffixes, RnnState start, int chunkTokens)
    {
        if (suffixes.Count > 0 && suffixes.All(s => s.Length > 0 && s.Length == suffixes[0].Length) && suffixes[0].Length * suffixes.Count <= chunkTokens)
            using (var scope = NewDisposeScope())
                return net.Recur(Input(suffixes, Enumerable.Range(0, suffixes.Count).ToArray(), 0, suffixes[0].Length), start).State.MoveToOuterDisposeScope();

        var h = start.H.clone();                                                   // (layers, B, H)
        var c = start.C?.clone();
        for (var t0 = 0; ; )
        {
            var active = Enumerable.Range(0, suffixes.Count).Where(j => suffixes[j].Length > t0).ToArray();
            if (active.Length == 0) break;
            var window = Math.Max(1, chunkTokens / active.Length);
            var steps = Math.Min(window, active.Min(j => suffixes[j].Length - t0));
            using (var scope = NewDisposeScope())
            {
                var index = tensor(active.Select(j => (long)j).ToArray());
                var state = new RnnState(h.index_select(1, index), c?.index_select(1, index));
                var (_, next) = net.Recur(Input(suffixes, active, t0, steps), state);
                h.index_copy_(1, index, next.H);
                c?.index_copy_(1, index, next.C!);
            }
            t0 += steps;
        }
        return new RnnState(h, c);
    }

    /// <summary>The (steps, A) ids of the sequences <paramref name="active"/> from time <paramref name="t0"/>.</summary>
    private static Tensor Input(IReadOnlyList<long[]> suffixes, int[] active, int t0, int steps)
    {
        var flat = new long[steps * active.Length];
        for (var a = 0; a < active.Length; a++)
            for (var t = 0; t < steps; t++)
                flat[t * active.Length + a] = suffixes[active[a]][t0 + t];
        return tensor(flat, [steps, active.Length]);
    }
}
