namespace RnnLmService.Core.Text;

/// <summary>
/// The learning loop of <see cref="BpeMerges.Learn"/>: symbol sequences of the distinct pre-tokens with their
/// counts, pair counts with the pre-tokens that hold each pair, and a max-queue of pairs with lazy deletion
/// (an entry whose count is no longer the pair's current count is skipped).
/// </summary>
internal sealed class BpeLearner
{
    private readonly List<string> symbolText = [];                       // id → byte-level string
    private readonly List<int>[] words;                                  // pre-token → symbol ids
    private readonly long[] counts;                                      // pre-token → occurrences
    private readonly Dictionary<long, long> pairCounts = [];
    private readonly Dictionary<long, HashSet<int>> where = [];
    private readonly PriorityQueue<long, (long Count, int Left, int Right)> queue = new(new PairOrder());

    public BpeLearner(IReadOnlyDictionary<string, long> pieceCounts)
    {
        for (var b = 0; b < 256; b++) symbolText.Add(ByteLevel.Char((byte)b).ToString());
        var pieces = pieceCounts.Where(p => p.Value > 0).ToArray();
        words = new List<int>[pieces.Length];
        counts = new long[pieces.Length];
        for (var w = 0; w < pieces.Length; w++)
        {
            words[w] = [.. System.Text.Encoding.UTF8.GetBytes(pieces[w].Key).Select(b => (int)b)];
            counts[w] = pieces[w].Value;
            AddPairs(w, +1, null);
        }
        foreach (var (key, count) in pairCounts) queue.Enqueue(key, (count, Left(key), Right(key)));
    }

    public List<(string Left, string Right)> Run(int mergeCount)
    {
        var merges = new List<(string, string)>(Math.Max(0, mergeCount));
        while (merges.Count < mergeCount && queue.TryDequeue(out var key, out var top))
        {
            if (!pairCounts.TryGetValue(key, out var count) || count != top.Count) continue; // stale entry
            if (count < 2) break;
            int a = Left(key), b = Right(key), merged = symbolText.Count;
            symbolText.Add(symbolText[a] + symbolText[b]);
            merges.Add((symbolText[a], symbolText[b]));
            var changed = new HashSet<long>();
            foreach (var w in where[key].Order())                       // order does not change sums; kept for reproducible debugging
            {
                AddPairs(w, -1, changed);
                words[w] = MergeIn(words[w], a, b, merged);
                AddPairs(w, +1, changed);
            }
            pairCounts.Remove(key);
            where.Remove(key);
            foreach (var k in changed)
            {
                if (pairCounts.TryGetValue(k, out var c) && c > 0) queue.Enqueue(k, (c, Left(k), Right(k)));
                else { pairCounts.Remove(k); where.Remove(k); }
            }
        }
        return merges;
    }

    private static List<int> MergeIn(List<int> symbols, int a, int b, int merged)
    {
        var result = new List<int>(symbols.Count);
        for (var i = 0; i < symbols.Count; i++)
        {
            if (i + 1 < symbols.Count && symbols[i] == a && symbols[i + 1] == b) { result.Add(merged); i++; }
            else result.Add(symbols[i]);
        }
        return result;
    }

    private void AddPairs(int w, int sign, HashSet<long>? changed)
    {
        var s = words[w];
        for (var i = 0; i + 1 < s.Count; i++)
        {
            var key = Key(s[i], s[i + 1]);
            pairCounts[key] = pairCounts.GetValueOrDefault(key) + sign * counts[w];
            if (sign > 0)
            {
                if (!where.TryGetValue(key, out var set)) where[key] = set = [];
                set.Add(w);
            }
            changed?.Add(key);
        }
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;
    private static int Left(long key) => (int)(key >> 32);
    private static int Right(long key) => (int)(key & 0xFFFFFFFF);

    /// <summary>Higher count first; ties: lower left id, then lower right id.</summary>
    private sealed class PairOrder : IComparer<(long Count, int Left, int Right)>
    {
        public int Compare((long Count, int Left, int Right) x, (long Count, int Left, int Right) y) =>
            y.Count != x.Count ? y.Count.CompareTo(x.Count) : x.Left != y.Left ? x.Left.CompareTo(y.Left) : x.Right.CompareTo(y.Right);
    }
}
