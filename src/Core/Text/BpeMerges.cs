using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace RnnLmService.Core.Text;

/// <summary>
/// The merges of a byte-level BPE model (Sennrich et al. 2016 over bytes, as in GPT-2), in the order they were
/// learnt. Tokens are byte sequences written with <see cref="ByteLevel"/> characters; the base alphabet is the 256
/// bytes, so every text encodes without unknown tokens.
/// <para>
/// Learning (<see cref="Learn"/>) counts adjacent symbol pairs over the distinct pre-tokens weighted by their
/// counts (not over the raw text), merges the most frequent pair, and updates only the pre-tokens that held it.
/// Ties are broken by the lower left symbol id, then the lower right one, where ids are the 256 bytes by value
/// followed by merged symbols in the order they were learnt; so learning the same counts twice gives the same
/// merges. It stops early when no pair occurs twice.
/// </para>
/// </summary>
public sealed class BpeMerges
{
    /// <summary>The format tag written in the merges file.</summary>
    public const string Format = "byte-level-bpe/1";

    private const int CacheLimit = 200_000;
    private readonly (string Left, string Right)[] merges;
    private readonly Dictionary<(string, string), int> ranks;
    private readonly ConcurrentDictionary<string, string[]> cache = new(StringComparer.Ordinal);

    /// <summary>Wraps merges in learning order; throws <see cref="ArgumentException"/> when a symbol is not byte-level or a merge repeats.</summary>
    public BpeMerges(IEnumerable<(string Left, string Right)> merges)
    {
        this.merges = [.. merges];
        ranks = new Dictionary<(string, string), int>(this.merges.Length);
        var scratch = new List<byte>();
        for (var i = 0; i < this.merges.Length; i++)
        {
            var (l, r) = this.merges[i];
            if (string.IsNullOrEmpty(l) || string.IsNullOrEmpty(r) || !ByteLevel.TryAppendBytes(l + r, scratch))
                throw new ArgumentException($"merge {i} (\"{l}\", \"{r}\") is not made of byte-level symbols.", nameof(merges));
            if (!ranks.TryAdd((l, r), i)) throw new ArgumentException($"merge {i} (\"{l}\", \"{r}\") appears twice.", nameof(merges));
        }
    }

    /// <summary>The merges, first learnt first.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => merges;

    /// <summary>Every token the model can produce: the 256 bytes in byte order, then each merge's result (duplicates skipped).</summary>
    public IEnumerable<string> Tokens() =>
        Enumerable.Range(0, 256).Select(b => ByteLevel.Char((byte)b).ToString())
            .Concat(merges.Select(m => m.Left + m.Right)).Distinct(StringComparer.Ordinal);

    /// <summary>The byte-level tokens of one pre-token (its UTF-8 bytes merged by rank, lowest first).</summary>
    public string[] Encode(string piece)
    {
        if (cache.TryGetValue(piece, out var cached)) return cached;
        var symbols = Encoding.UTF8.GetBytes(piece).Select(b => ByteLevel.Char(b).ToString()).ToList();
        while (symbols.Count > 1)
        {
            var best = int.MaxValue;
            for (var i = 0; i + 1 < symbols.Count; i++)
                if (ranks.TryGetValue((symbols[i], symbols[i + 1]), out var r) && r < best) best = r;
            if (best == int.MaxValue) break;
            var (left, right) = merges[best];
            var merged = new List<string>(symbols.Count);
            for (var i = 0; i < symbols.Count; i++)
            {
                if (i + 1 < symbols.Count && symbols[i] == left && symbols[i + 1] == right) { merged.Add(left + right); i++; }
                else merged.Add(symbols[i]);
            }
            symbols = merged;
        }
        var result = symbols.ToArray();
        if (cache.Count >= CacheLimit) cache.Clear();
        cache[piece] = result;
        return result;
    }

    /// <summary>
    /// Learns up to <paramref name="mergeCount"/> merges from pre-tokens and their counts (see the class comment
    /// for the rule). The result depends only on the counts, not on the order they are given in.
    /// </summary>
    public static BpeMerges Learn(IReadOnlyDictionary<string, long> pieceCounts, int mergeCount) =>
        new(new BpeLearner(pieceCounts).Run(mergeCount));

    /// <summary>Writes the merges as JSON (<c>{"format", "merges": [[left, right], …]}</c>) to a temporary file, then renames it over <paramref name="path"/>.</summary>
    public void Save(string path)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllText(temp, JsonSerializer.Serialize(new MergesFile(Format, merges.Select(m => new[] { m.Left, m.Right }).ToArray())));
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Reads a file written by <see cref="Save"/>; <see cref="ModelFormatException"/> when it is missing or malformed.</summary>
    public static BpeMerges Load(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException(path, "the BPE merges file is missing");
        try
        {
            var file = JsonSerializer.Deserialize<MergesFile>(File.ReadAllText(path));
            if (file is null || file.format != Format || file.merges is null || file.merges.Any(m => m is not { Length: 2 }))
                throw new ModelFormatException(path, $"the BPE merges file is not in the {Format} format");
            return new BpeMerges(file.merges.Select(m => (m[0], m[1])));
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new ModelFormatException(path, $"the BPE merges file is not valid: {e.Message}");
        }
    }

#pragma warning disable IDE1006 // JSON names
    private sealed record MergesFile(string format, string[][] merges);
#pragma warning restore IDE1006
}
