using System.Text.Encodings.Web;
using System.Text.Json;

namespace RnnLmService.Core.Text;

/// <summary>
/// Token ↔ id map. Ids 0 and 1 are always <see cref="Unk"/> and <see cref="Eos"/>; unknown tokens
/// map to <see cref="UnkId"/>. Saved as a JSON array of strings where the index is the id; the training counts,
/// when known, go to a separate file beside it (<c>vocab.counts.json</c>), so older readers and older models
/// keep working.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>The token for every word not in the vocabulary (id 0).</summary>
    public const string Unk = "<unk>";

    /// <summary>The end-of-line token (id 1).</summary>
    public const string Eos = "<eos>";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keeps CJK readable in the file; never embedded in HTML
    };

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    private Vocabulary(string[] tokens, Dictionary<string, int> ids, long[]? counts)
    {
        _tokens = tokens;
        _ids = ids;
        Tokens = Array.AsReadOnly(tokens);
        Counts = counts is null ? null : Array.AsReadOnly(counts);
    }

    /// <summary>Number of tokens, specials included: the model's input and output size.</summary>
    public int Count => _tokens.Length;

    /// <summary>Id of <see cref="Unk"/> (0).</summary>
    public int UnkId => 0;

    /// <summary>Id of <see cref="Eos"/> (1).</summary>
    public int EosId => 1;

    /// <summary>All tokens, indexed by id.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>
    /// How often each token occurred in the training text, indexed by id (0 for the specials); null for a vocabulary
    /// saved without counts (models trained before counts were kept).
    /// </summary>
    public IReadOnlyList<long>? Counts { get; }

    /// <summary>The token with id <paramref name="id"/>; throws <see cref="ArgumentOutOfRangeException"/> outside 0..Count-1.</summary>
    public string this[int id]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, Count);
            return _tokens[id];
        }
    }

    /// <summary>The id of <paramref name="token"/>, or <see cref="UnkId"/> when it is not in the vocabulary.</summary>
    public int IdOf(string token) => _ids.TryGetValue(token, out var id) ? id : UnkId;

    /// <summary>Whether <paramref name="token"/> has its own id (the specials do).</summary>
    public bool Contains(string token) => _ids.ContainsKey(token);

    /// <summary>The ids of <paramref name="tokens"/>, unknown ones as <see cref="UnkId"/>.</summary>
    public long[] Encode(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var ids = new long[tokens.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = IdOf(tokens[i]);
        return ids;
    }

    /// <summary>
    /// Builds a vocabulary from a training token stream: the specials first, then tokens seen at least
    /// <paramref name="minCount"/> times, most frequent first, ties in ordinal string order, up to
    /// <paramref name="maxSize"/> tokens in all. Specials in the stream are not counted. Throws
    /// <see cref="CorpusException"/> (field <c>train</c>) when no other token survives.
    /// </summary>
    public static Vocabulary Build(IEnumerable<string> tokens, int maxSize, int minCount)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        InvalidSettingException.Check(maxSize is >= TokenizerOptions.MinVocabularySize and <= TokenizerOptions.MaxLimit,
            "maxVocabularySize", $"maxVocabularySize must be between {TokenizerOptions.MinVocabularySize} and {TokenizerOptions.MaxLimit} (got {maxSize}).");
        InvalidSettingException.Check(minCount is >= 1 and <= TokenizerOptions.MaxLimit,
            "minCount", $"minCount must be between 1 and {TokenizerOptions.MaxLimit} (got {minCount}).");

        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            if (token is Unk or Eos) continue;
            counts[token] = counts.GetValueOrDefault(token) + 1;
        }
        var kept = counts.Where(kv => kv.Value >= minCount)
            .OrderByDescending(kv => kv.Value)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(maxSize - 2)
            .ToList();
        string[] all = [Unk, Eos, .. kept.Select(kv => kv.Key)];
        if (all.Length == 2)
            throw new CorpusException("train", counts.Count == 0
                ? "The training text has no tokens."
                : $"No token occurs at least minCount = {minCount} times in the training text; lower minCount.");
        return FromTokens(all, [0, 0, .. kept.Select(kv => kv.Value)]);
    }

    /// <summary>
    /// A vocabulary holding every token of <paramref name="required"/> (a subword model's whole alphabet, so
    /// nothing is unknown): the specials first, then the required tokens by their count in the training stream
    /// <paramref name="tokens"/>, most frequent first (the order the adaptive softmax needs), ties and unseen
    /// tokens in ordinal order.
    /// </summary>
    public static Vocabulary BuildComplete(IEnumerable<string> tokens, IEnumerable<string> required)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var token in tokens) counts[token] = counts.GetValueOrDefault(token) + 1;
        return BuildComplete(counts, required);
    }

    /// <summary>
    /// <see cref="BuildComplete(IEnumerable{string}, IEnumerable{string})"/> from the tokens' counts in the training
    /// stream (a streamed preparation counts them without holding the stream); counts of tokens not in
    /// <paramref name="required"/> are ignored.
    /// </summary>
    public static Vocabulary BuildComplete(IReadOnlyDictionary<string, long> tokenCounts, IEnumerable<string> required)
    {
        ArgumentNullException.ThrowIfNull(tokenCounts);
        ArgumentNullException.ThrowIfNull(required);
        var counts = required.Where(t => t is not (Unk or Eos)).Distinct(StringComparer.Ordinal)
            .ToDictionary(t => t, t => tokenCounts.GetValueOrDefault(t), StringComparer.Ordinal);
        var ordered = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        return FromTokens([Unk, Eos, .. ordered.Select(kv => kv.Key)], [0, 0, .. ordered.Select(kv => kv.Value)]);
    }

    /// <summary>
    /// A vocabulary from tokens in id order (a saved vocabulary), with their training counts when known. Throws
    /// <see cref="ArgumentException"/> unless the specials are at ids 0 and 1, no token is null, empty or repeated,
    /// and the counts (if any) are one non-negative number per token.
    /// </summary>
    public static Vocabulary FromTokens(IReadOnlyList<string> tokens, IReadOnlyList<long>? counts = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (counts is not null && (counts.Count != tokens.Count || counts.Any(c => c < 0)))
            throw new ArgumentException($"Expected {tokens.Count} non-negative counts, one per token (got {counts.Count}).", nameof(counts));
        if (tokens.Count < 2 || tokens[0] != Unk || tokens[1] != Eos)
            throw new ArgumentException($"A vocabulary must start with \"{Unk}\" and \"{Eos}\".", nameof(tokens));
        var array = tokens.ToArray();
        var ids = new Dictionary<string, int>(array.Length, StringComparer.Ordinal);
        for (int i = 0; i < array.Length; i++)
        {
            if (string.IsNullOrEmpty(array[i]))
                throw new ArgumentException($"Token {i} is null or empty.", nameof(tokens));
            if (!ids.TryAdd(array[i], i))
                throw new ArgumentException($"Token \"{array[i]}\" appears twice (ids {ids[array[i]]} and {i}).", nameof(tokens));
        }
        return new Vocabulary(array, ids, counts?.ToArray());
    }

    /// <summary>The counts file beside a vocabulary file: <c>vocab.json</c> → <c>vocab.counts.json</c>.</summary>
    public static string CountsPath(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path) + ".counts.json");

    /// <summary>
    /// Writes the tokens as a UTF-8 JSON array to a temporary file, then moves it over <paramref name="path"/>;
    /// the counts, when known, likewise to <see cref="CountsPath"/>.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Counts is not null) WriteJson(CountsPath(path), Counts);
        WriteJson(path, _tokens);
        if (Counts is null) File.Delete(CountsPath(path));       // no stale counts beside other tokens
    }

    private static void WriteJson<T>(string path, T value)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                JsonSerializer.Serialize(stream, value, JsonOptions);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Reads a file written by <see cref="Save"/>; throws <see cref="ModelFormatException"/> when it is missing, truncated or not a vocabulary.</summary>
    public static Vocabulary Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new ModelFormatException(path, "The vocabulary file is missing.");
        string?[]? tokens;
        try
        {
            using var stream = File.OpenRead(path);
            tokens = JsonSerializer.Deserialize<string?[]>(stream, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"The vocabulary file is truncated or not a JSON array of strings: {e.Message}");
        }
        catch (IOException e)
        {
            throw new ModelFormatException(path, $"The vocabulary file cannot be read: {e.Message}");
        }
        if (tokens is null) throw new ModelFormatException(path, "The vocabulary file holds null, not a JSON array of strings.");
        try
        {
            return FromTokens(tokens!, LoadCounts(CountsPath(path)));
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(path, $"The file is not a vocabulary: {e.Message}");
        }
    }

    /// <summary>The counts beside a vocabulary, or null when there is no counts file (an older model).</summary>
    private static long[]? LoadCounts(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<long[]>(stream, JsonOptions)
                ?? throw new ModelFormatException(path, "The vocabulary counts file holds null, not a JSON array of numbers.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"The vocabulary counts file is truncated or not a JSON array of numbers: {e.Message}");
        }
        catch (IOException e)
        {
            throw new ModelFormatException(path, $"The vocabulary counts file cannot be read: {e.Message}");
        }
    }
}
