using System.Text;

namespace RnnLmService.Core.Text.Prepared;

/// <summary>
/// Counts tokens in bounded memory and ranks them exactly: at most <see cref="Budget"/> distinct tokens are held; when
/// the dictionary is full it is written to disk as a run sorted by token (ordinal) and cleared. <see cref="Rank"/>
/// merges the runs, adding the counts of equal tokens, and keeps the <c>limit</c> most frequent (ties in ordinal
/// order) in a bounded heap — the order <see cref="Vocabulary.Build"/> gives, whatever the budget.
/// </summary>
internal sealed class TokenCounter(string spillDirectory, int budget) : IDisposable
{
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly List<string> _runs = [];

    /// <summary>Most distinct tokens held in memory.</summary>
    public int Budget { get; } = budget >= 1 ? budget : throw new ArgumentOutOfRangeException(nameof(budget));

    /// <summary>Runs written to disk so far.</summary>
    public int Runs => _runs.Count;

    /// <summary>Counts one occurrence of <paramref name="token"/> (the specials are not counted).</summary>
    public void Add(string token)
    {
        if (token is Vocabulary.Unk or Vocabulary.Eos) return;
        if (_counts.TryGetValue(token, out var c)) { _counts[token] = c + 1; return; }
        if (_counts.Count >= Budget) Spill();
        _counts[token] = 1;
    }

    /// <summary>
    /// The <paramref name="limit"/> most frequent tokens with their counts, most frequent first, ties in ordinal order,
    /// and the number of distinct tokens seen.
    /// </summary>
    public (List<(string Token, long Count)> Ranked, long Distinct) Rank(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var top = new PriorityQueue<string, (long Count, string Token)>(Comparer<(long Count, string Token)>.Create(Worse));
        long distinct = 0;
        foreach (var (token, count) in Merged())
        {
            distinct++;
            if (top.Count < limit) top.Enqueue(token, (count, token));
            else if (top.TryPeek(out _, out var worst) && Worse(worst, (count, token)) < 0) top.EnqueueDequeue(token, (count, token));
        }
        var ranked = new List<(string, long)>(top.Count);
        while (top.TryDequeue(out var token, out var key)) ranked.Add((token, key.Count));
        ranked.Reverse();                                                // the heap yields the worst first
        return (ranked, distinct);
    }

    /// <summary>Orders worse before better: fewer occurrences, then the later token in ordinal order.</summary>
    private static int Worse((long Count, string Token) a, (long Count, string Token) b)
    {
        var byCount = a.Count.CompareTo(b.Count);
        return byCount != 0 ? byCount : string.CompareOrdinal(b.Token, a.Token);
    }

    /// <summary>Every distinct token with its total count, in ordinal order: the memory and the runs merged.</summary>
    private IEnumerable<(string Token, long Count)> Merged()
    {
        if (_runs.Count == 0)
        {
            foreach (var kv in _counts.OrderBy(kv => kv.Key, StringComparer.Ordinal)) yield return (kv.Key, kv.Value);
            yield break;
        }
        if (_counts.Count > 0) Spill();
        var readers = _runs.Select(r => new BinaryReader(new FileStream(r, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), Encoding.UTF8)).ToList();
        try
        {
            var heads = new PriorityQueue<int, string>(StringComparer.Ordinal);
            var current = new (string Token, long Count)[readers.Count];
            for (var i = 0; i < readers.Count; i++)
                if (TryRead(readers[i], out current[i])) heads.Enqueue(i, current[i].Token);
            while (heads.TryDequeue(out var i, out var token))
            {
                var total = current[i].Count;
                if (TryRead(readers[i], out current[i])) heads.Enqueue(i, current[i].Token);
                while (heads.TryPeek(out var j, out var next) && next == token)
                {
                    heads.Dequeue();
                    total += current[j].Count;
                    if (TryRead(readers[j], out current[j])) heads.Enqueue(j, current[j].Token);
                }
                yield return (token, total);
            }
        }
        finally
        {
            foreach (var r in readers) r.Dispose();
        }
    }

    private static bool TryRead(BinaryReader reader, out (string Token, long Count) entry)
    {
        if (reader.BaseStream.Position >= reader.BaseStream.Length) { entry = default; return false; }
        entry = (reader.ReadString(), reader.ReadInt64());
        return true;
    }

    /// <summary>Writes the dictionary as a run sorted by token and clears it.</summary>
    private void Spill()
    {
        Directory.CreateDirectory(spillDirectory);
        var path = Path.Combine(spillDirectory, $"run-{_runs.Count:D5}.bin");
        using (var writer = new BinaryWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16), Encoding.UTF8))
        {
            foreach (var kv in _counts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                writer.Write(kv.Key);
                writer.Write(kv.Value);
            }
        }
        _runs.Add(path);
        _counts.Clear();
        _counts.TrimExcess();
    }

    /// <summary>Deletes the runs.</summary>
    public void Dispose()
    {
        foreach (var run in _runs) File.Delete(run);
        _runs.Clear();
    }
}
