using RnnLmService.Core.Modeling;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// Hidden states after recently read token-id prefixes, least recently used first out, bounded by a byte budget
/// (state tensors plus the ids of the key). A context that extends a cached prefix by k tokens then costs k RNN
/// steps. Used from the model's one thread; the counters may be read from any thread.
/// </summary>
public sealed class StateCache : IDisposable
{
    /// <summary>
    /// Bytes counted per entry besides its tensors' data and key: the node, dictionary slot and handles, and LibTorch's own
    /// objects for the two tensors (their impl, storage and allocation headers). Measured in the soak diagnosis
    /// (bench/RESULTS.md): an entry costs ~1.85 KB of C heap where 256 bytes of overhead counted ~1.4 KB, so the budget
    /// undercounted by a third; with this figure <c>StateCacheBytes</c> is what the cache really holds.
    /// </summary>
    private const long EntryOverhead = 768;

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
    /// The longest cached prefix of <paramref name="ids"/>: its length and a copy of its state (the caller owns it),
    /// or (0, null). The prefix is hashed once, incrementally, so a lookup costs O(length).
    /// </summary>
    public (int Length, RnnState? State) Find(long[] ids)
    {
        if (budget == 0) return (0, null);
        var hashes = PrefixKey.Hashes(ids);
        for (var n = ids.Length; n >= 1; n--)
        {
            if (!entries.TryGetValue(new PrefixKey(ids, n, hashes[n - 1]), out var node)) continue;
            order.Remove(node);
            order.AddFirst(node);
            Interlocked.Increment(ref hits);
            return (n, Copy(node.Value.State));
        }
        Interlocked.Increment(ref misses);
        return (0, null);
    }

    /// <summary>Keeps a copy of <paramref name="state"/> (one sequence) as the state after <paramref name="ids"/>; evicts the least recently used to stay in budget.</summary>
    public void Add(long[] ids, RnnState state)
    {
        if (budget == 0 || ids.Length == 0) return;
        var size = SizeOf(ids.Length, state);
        if (size > budget) return;
        var key = new PrefixKey(ids[..], ids.Length, PrefixKey.Hashes(ids)[^1]);
        if (entries.TryGetValue(key, out var existing))
        {
            order.Remove(existing);
            order.AddFirst(existing);
            return;
        }
        while (Bytes + size > budget) Evict();
        var node = order.AddFirst(new Entry(key, Copy(state), size));
        entries.Add(key, node);
        Interlocked.Add(ref bytes, size);
    }

    private void Evict()
    {
        var last = order.Last!;
        order.RemoveLast();
        entries.Remove(last.Value.Key);
        last.Value.State.Dispose();
        Interlocked.Add(ref bytes, -last.Value.Size);
    }

    private static long SizeOf(int keyLength, RnnState state) =>
        EntryOverhead + keyLength * sizeof(long) + (state.H.NumberOfElements + (state.C?.NumberOfElements ?? 0)) * sizeof(float);

    /// <summary>A copy owned by no dispose scope (the cache, or the caller of <see cref="Find"/>, disposes it).</summary>
    private static RnnState Copy(RnnState state) => new RnnState(state.H.clone(), state.C?.clone()).DetachFromDisposeScope();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var e in order) e.State.Dispose();
        order.Clear();
        entries.Clear();
        Interlocked.Exchange(ref bytes, 0);
    }

    private sealed record Entry(PrefixKey Key, RnnState State, long Size);

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
