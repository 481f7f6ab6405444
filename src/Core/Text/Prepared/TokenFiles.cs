using System.Text.Json;
using System.Text.Json.Serialization;
using RnnLmService.Core.Storage;

namespace RnnLmService.Core.Text.Prepared;

/// <summary>
/// A dataset's token files, under <c>datasets/{id}/tokens/</c>:
/// <list type="bullet">
/// <item><c>{key}/</c> — ready: <c>index.json</c> (<see cref="TokenFileIndex"/>), <c>vocab.json</c> (every training
/// token worth an id, most frequent first, ties in ordinal order, after <c>&lt;unk&gt;</c> and <c>&lt;eos&gt;</c>; its counts in
/// <c>vocab.counts.json</c>) and <c>train.ids</c>, <c>valid.ids</c>, <c>test.ids</c>: int32 little-endian ids, one per token;
/// <c>test.measures</c>: each test token's characters and words (<see cref="MappedTextMeasures"/>); BPE also
/// <c>merges.json</c> (<see cref="BpeMerges"/>), and its <c>vocab.json</c> is the whole BPE vocabulary in
/// <see cref="Vocabulary.BuildComplete(IEnumerable{string}, IEnumerable{string})"/>'s order;</item>
/// <item><c>{key}.partial/</c> — an attempt's finished passes (each file written to a temporary name, fsynced and renamed),
/// renamed to <c>{key}/</c> when all are done; <c>{key}.lock</c> — held (flock) by the process preparing;
/// <c>{key}.status.json</c> — its phase, or why it failed.</item>
/// </list>
/// A word or character job's vocabulary (<c>maxVocabularySize</c>, <c>minCount</c>) is a prefix of <c>vocab.json</c>: the
/// same tokens and order <see cref="Vocabulary.Build"/> gives from the text, so the ids are those of the in-memory path;
/// a BPE job's is all of it (<see cref="Corpus.Build"/> keeps every BPE token too).
/// </summary>
public static class TokenFiles
{
    /// <summary>Extension of a split's token file.</summary>
    public const string IdsExtension = ".ids";

    /// <summary>The BPE merges learnt from the train split.</summary>
    public const string MergesFile = "merges.json";

    /// <summary>The test split's per-token characters and words.</summary>
    public const string TestMeasuresFile = "test.measures";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary><c>{datasetDirectory}/tokens</c>.</summary>
    public static string Root(string datasetDirectory) => Path.Combine(datasetDirectory, "tokens");

    /// <summary>The ready directory of <paramref name="key"/>.</summary>
    public static string ReadyDirectory(string datasetDirectory, TokenFileKey key) => Path.Combine(Root(datasetDirectory), key.DirectoryName);

    /// <summary>The index of a ready preparation, or null.</summary>
    public static TokenFileIndex? ReadIndex(string readyDirectory)
    {
        var path = Path.Combine(readyDirectory, "index.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<TokenFileIndex>(File.ReadAllText(path), Json) : null;
    }

    /// <summary>
    /// The corpus a job reads from ready token files: the vocabulary its <paramref name="options"/> keep (a prefix of
    /// the ranked one; <see cref="CorpusException"/> on <c>train</c> when no token survives <c>minCount</c>, as
    /// <see cref="Vocabulary.Build"/> says) and the splits memory-mapped, ids past it read as <c>&lt;unk&gt;</c>.
    /// </summary>
    public static PreparedCorpus Open(string readyDirectory, TokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var index = ReadIndex(readyDirectory) ?? throw new ModelFormatException(readyDirectory, "The token files are not ready (no index.json).");
        if (index.Key != TokenFileKey.Of(options))
            throw new ModelFormatException(readyDirectory, "The token files were made with other tokenizer settings.");
        var bpe = options.Kind == TokenizerKind.Bpe;
        var ranked = Vocabulary.Load(Path.Combine(readyDirectory, "vocab.json"));
        var vocabulary = bpe ? ranked : Cut(ranked, options, index.DistinctTokens);
        var tokenizer = Tokenizers.Create(options, bpe ? BpeMerges.Load(Path.Combine(readyDirectory, MergesFile)) : null);
        var opened = new List<IDisposable>(4);
        try
        {
            foreach (var split in new[] { "train", "valid", "test" })
                opened.Add(new MappedTokenIds(Path.Combine(readyDirectory, split + IdsExtension), vocabulary.Count));
            var measures = new MappedTextMeasures(Path.Combine(readyDirectory, TestMeasuresFile), index.TestCharacters, index.TestWords);
            opened.Add(measures);
            return new PreparedCorpus(tokenizer, vocabulary, (ITokenIds)opened[0], (ITokenIds)opened[1], (ITokenIds)opened[2], measures);
        }
        catch
        {
            foreach (var o in opened) o.Dispose();
            throw;
        }
    }

    /// <summary>The prefix of a ranked vocabulary that <paramref name="options"/> keep.</summary>
    internal static Vocabulary Cut(Vocabulary ranked, TokenizerOptions options, long distinct)
    {
        var counts = ranked.Counts ?? throw new ModelFormatException("vocab.counts.json", "The ranked vocabulary has no counts.");
        var kept = 0;
        var most = options.MaxVocabularySize - 2;
        while (kept < most && 2 + kept < ranked.Count && counts[2 + kept] >= options.MinCount) kept++;
        if (kept == 0)
            throw new CorpusException("train", distinct == 0
                ? "The training text has no tokens."
                : $"No token occurs at least minCount = {options.MinCount} times in the training text; lower minCount.");
        return Vocabulary.FromTokens(ranked.Tokens.Take(2 + kept).ToList(), counts.Take(2 + kept).ToList());
    }

    /// <summary>Every preparation of a dataset with its state, read from its files (newest layout only).</summary>
    public static IReadOnlyList<PreparationStatus> Statuses(string datasetDirectory)
    {
        var root = Root(datasetDirectory);
        if (!Directory.Exists(root)) return [];
        var names = Directory.EnumerateFileSystemEntries(root)
            .Select(Path.GetFileName)
            .Select(n => n!.Split('.')[0])
            .Where(n => n.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        var result = new List<PreparationStatus>();
        foreach (var name in names)
            if (StatusOf(root, name) is { } status) result.Add(status);
        return result;
    }

    /// <summary>A published <see cref="PreparationStatus"/> (JSON), or null when it does not read as one.</summary>
    public static PreparationStatus? ParseStatus(string json)
    {
        try { return JsonSerializer.Deserialize<PreparationStatus>(json, Json); }
        catch (JsonException) { return null; }
    }

    /// <summary>A status as JSON, the form <see cref="ParseStatus"/> reads.</summary>
    public static string StatusJson(PreparationStatus status) => JsonSerializer.Serialize(status, Json);

    private static PreparationStatus? StatusOf(string root, string name)
    {
        try
        {
            if (ReadIndex(Path.Combine(root, name)) is { } index)
                return new PreparationStatus { Key = index.Key, Status = PreparationStatus.Ready, Index = index };
            var statusPath = Path.Combine(root, name + ".status.json");
            if (!File.Exists(statusPath)) return null;
            var written = JsonSerializer.Deserialize<PreparationStatus>(File.ReadAllText(statusPath), Json);
            if (written is null) return null;
            if (written.Status == PreparationStatus.Preparing && !PreparationLock.IsHeld(Path.Combine(root, name + ".lock")))
                return written with { Status = PreparationStatus.Interrupted };
            return written;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;                                                   // being replaced right now; the next read sees it
        }
    }

    /// <summary>Writes <paramref name="value"/> as JSON to a temporary file, fsyncs it and renames it over <paramref name="path"/>.</summary>
    internal static void WriteJson<T>(string path, T value)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, value, Json);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        Durable.FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }
}

/// <summary>
/// The lock of one preparation: an exclusive advisory lock (flock, what .NET takes for <see cref="FileShare.None"/> on
/// Unix) on <c>{key}.lock</c>; the kernel drops it when the holder dies, so a killed preparation never blocks the next.
/// </summary>
internal static class PreparationLock
{
    /// <summary>The lock, or null when another process holds it.</summary>
    public static FileStream? TryTake(string path)
    {
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) { return null; }
    }

    /// <summary>Whether a process holds the lock (probes by taking it for a moment).</summary>
    public static bool IsHeld(string path)
    {
        if (!File.Exists(path)) return false;
        using var taken = TryTake(path);
        return taken is null;
    }
}
