using System.Runtime.InteropServices;
using RnnLmService.Core.Modeling;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// Hidden states after recently read token-id prefixes, least recently used first out, bounded by a byte budget
/// (state values plus the ids of the key). A context that extends a cached prefix by k tokens then costs k RNN
/// steps. A state is kept as one managed array (see <see cref="Gather"/> for its layout), not as tensors: a batch
/// then reads its cached starts into one tensor and its new states out of one, two native calls per batch instead of
/// a clone, a narrow and a concatenation per sequence (measured under the typing load: bench/RESULTS.md).
/// Used from the model's one thread; the counters may be read from any thread.
/// </summary>
public sealed class StateCache
{
    /// <summary>
    /// Bytes counted per entry besides its state values and key: the list node, the entry, the dictionary slot and the
    /// two array headers (about 200 bytes on 64-bit .NET, rounded up).
    /// </summary>
    private const long EntryOverhead = 256;

    private readonly long budget;
    private readonly Dictionary<PrefixKey, LinkedListNode<Entry>> entries = new();
    private readonly LinkedList<Entry> order = new(); // most recently used first
    private long bytes, hits, misses;

    /// <param name="budgetBytes">Most bytes held; 0 turns the cache off.</param>
    public StateCache(long budgetBytes)
    {
        InvalidSettingException.Check(budgetBytes >= 0, "StateCacheBytes", $"the state cache budget must be at least 0 (was {budgetBytes}).");
        budget = budgetBytes;
    }

    /// <summary>Bytes held now (never above the budget).</summary>
    public long Bytes => Interlocked.Read(ref bytes);
    /// <summary>Lookups that found a prefix.</summary>
    public long Hits => Interlocked.Read(ref hits);
    /// <summary>Lookups that found none.</summary>
    public long Misses => Interlocked.Read(ref misses);
    /// <summary>Entries held.</summary>
    public int Count => entries.Count;
    /// <summary>The budget in bytes (0: off).</summary>
    public long Budget => budget;

    /// <summary>
    /// The longest cached prefix of <paramref name="ids"/>: its length and its state (shared with the cache: read it, do not
    /// change it), or (0, null). The prefix is hashed once, incrementally, so a lookup costs O(length).
    /// </summary>
    public (int Length, float[]? State) Find(long[] ids)
    {
        if (budget == 0) return (0, null);
        var hashes = PrefixKey.Hashes(ids);
        for (var n = ids.Length; n >= 1; n--)
        {
            if (!entries.TryGetValue(new PrefixKey(ids, n, hashes[n - 1]), out var node)) continue;
            order.Remove(node);
            order.AddFirst(node);
            Interlocked.Increment(ref hits);
            return (n, node.Value.State);
        }
        Interlocked.Increment(ref misses);
        return (0, null);
    }

    /// <summary>
    /// Keeps <paramref name="state"/> (one sequence's, laid out as <see cref="Gather"/> reads it; the cache owns the array
    /// from now on) as the state after <paramref name="ids"/>; evicts the least recently used to stay in budget.
    /// </summary>
    public void Add(long[] ids, float[] state)
    {
        if (budget == 0 || ids.Length == 0) return;
        var size = EntryOverhead + ids.Length * sizeof(long) + state.Length * (long)sizeof(float);
        if (size > budget) return;
        var key = new PrefixKey(ids[..], ids.Length, PrefixKey.Hashes(ids)[^1]);
        if (entries.TryGetValue(key, out var existing))
        {
            order.Remove(existing);
            order.AddFirst(existing);
            return;
        }
        while (Bytes + size > budget) Evict();
        var node = order.AddFirst(new Entry(key, state, size));
        entries.Add(key, node);
        Interlocked.Add(ref bytes, size);
    }

    /// <summary>
    /// The batch state (layers, B, hidden) whose row j is <paramref name="rows"/>[j], or zeros where that is null (the
    /// model's initial state), in one tensor each for h and c. A row array holds h then c (for an LSTM), each layer-major:
    /// <c>[h(layer 0) … h(layer L−1), c(layer 0) … c(layer L−1)]</c>, hidden values per layer.
    /// </summary>
    public static RnnState Gather(IReadOnlyList<float[]?> rows, int layers, int hidden, bool lstm)
    {
        var b = rows.Count;
        var h = new float[layers * b * hidden];
        var c = lstm ? new float[h.Length] : null;
        for (var j = 0; j < b; j++)
        {
            if (rows[j] is not { } row) continue;
            for (var l = 0; l < layers; l++)
            {
                Array.Copy(row, l * hidden, h, (l * b + j) * hidden, hidden);
                if (c is not null) Array.Copy(row, (layers + l) * hidden, c, (l * b + j) * hidden, hidden);
            }
        }
        long[] shape = [layers, b, hidden];
        return new RnnState(tensor(h, shape), c is null ? null : tensor(c, shape));
    }

    /// <summary>The rows of a batch state (layers, B, hidden) as <see cref="Gather"/> lays them out, one array per sequence.</summary>
    public static float[][] Scatter(RnnState state)
    {
        int layers = (int)state.H.shape[0], b = (int)state.H.shape[1], hidden = (int)state.H.shape[2];
        using var h = state.H.contiguous();
        using var c = state.C?.contiguous();
        // Straight from the tensors' memory: TorchSharp's element accessor (data<float>()) cost ~10 % of the inference
        // thread here under the typing load (perf, bench/RESULTS.md).
        var hs = MemoryMarshal.Cast<byte, float>(h.bytes);
        var cs = c is null ? default : MemoryMarshal.Cast<byte, float>(c.bytes);
        var rows = new float[b][];
        for (var j = 0; j < b; j++)
        {
            var row = rows[j] = new float[(c is null ? 1 : 2) * layers * hidden];
            for (var l = 0; l < layers; l++)
            {
                var at = (l * b + j) * hidden;
                hs.Slice(at, hidden).CopyTo(row.AsSpan(l * hidden));
                if (c is not null) cs.Slice(at, hidden).CopyTo(row.AsSpan((layers + l) * hidden));
            }
        }
        return rows;
    }

    private void Evict()
    {
        var last = order.Last!;
        order.RemoveLast();
        entries.Remove(last.Value.Key);
        Interlocked.Add(ref bytes, -last.Value.Size);
    }

    /// <summary>Drops every entry.</summary>
    public void Clear()
    {
        order.Clear();
        entries.Clear();
        Interlocked.Exchange(ref bytes, 0);
    }

    private sealed record Entry(PrefixKey Key, float[] State, long Size);

    /// <summary>The first <see cref="Length"/> ids of an array, with a precomputed hash.</summary>
    private readonly struct PrefixKey(long[] ids, int length, int hash) : IEquatable<PrefixKey>
    {
        public long[] Ids { get; } = ids;
        public int Length { get; } = length;

        /// <summary>hashes[i] is the hash of the first i + 1 ids.</summary>
        public static int[] Hashes(long[] ids)
        {
            var result = new int[ids.Length];
            var h = 17L;
            for (var i = 0; i < ids.Length; i++)
            {
                h = unchecked(h * 1_000_003 + ids[i] + 1);
                result[i] = (int)(h ^ (h >> 32));
            }
            return result;
        }

        public bool Equals(PrefixKey other) =>
            Length == other.Length && hash == other.GetHashCode() && Ids.AsSpan(0, Length).SequenceEqual(other.Ids.AsSpan(0, Length));

        public override bool Equals(object? obj) => obj is PrefixKey k && Equals(k);

        public override int GetHashCode() => hash;
    }
}
