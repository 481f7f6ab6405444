using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using RnnLmService.Core.Storage;

namespace RnnLmService.Core.Text.Prepared;

/// <summary>Settings of a preparation.</summary>
public sealed record PreparationSettings
{
    /// <summary>Most distinct tokens the counting pass holds in memory before it spills a sorted run to disk (~100 bytes each).</summary>
    public int CountingBudget { get; init; } = 1_000_000;

    /// <summary>Called after each finished pass (<c>counting</c>, <c>encoding train</c>, ...): the crash tests stop there.</summary>
    public Action<string>? AfterPhase { get; init; }

    /// <summary>How often a process waiting for another's preparation looks again.</summary>
    public TimeSpan WaitInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// Prepares a dataset's token files (<see cref="TokenFiles"/>) in streaming passes: count the training split's tokens
/// (<see cref="TokenCounter"/>, bounded memory) and rank them — for BPE, count its pre-tokens, learn the merges from
/// those counts and order the vocabulary by token count — then encode each split line by line into int32 ids (the test
/// split's per-token characters and words beside them, for bits per character). One
/// process prepares a key at a time (the others wait and then share the result); a preparation that was killed
/// continues from its last finished pass, and a pass's half-written file is never used (temporary name, fsync, rename).
/// </summary>
public sealed class TokenFilePreparer(PreparationSettings? settings = null, ILogger? logger = null)
{
    private static readonly string[] Splits = ["train", "valid", "test"];
    private const string MergesFile = TokenFiles.MergesFile;
    private readonly PreparationSettings _settings = settings ?? new PreparationSettings();

    /// <summary>
    /// The ready directory of <paramref name="tokenizer"/>'s token files for the dataset in <paramref name="datasetDirectory"/>
    /// (holding <c>train.txt</c>, <c>valid.txt</c>, <c>test.txt</c>), preparing them first unless another process already
    /// did; waits while another process prepares them.
    /// </summary>
    public string Prepare(string datasetDirectory, TokenizerOptions tokenizer, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        tokenizer.Validate();
        var key = TokenFileKey.Of(tokenizer);
        var root = TokenFiles.Root(datasetDirectory);
        var ready = Path.Combine(root, key.DirectoryName);
        Directory.CreateDirectory(root);
        while (true)
        {
            if (TokenFiles.ReadIndex(ready) is not null) return ready;
            using (var held = PreparationLock.TryTake(ready + ".lock"))
            {
                if (held is not null)
                {
                    if (TokenFiles.ReadIndex(ready) is null) Run(datasetDirectory, tokenizer, key, ready, ct);
                    return ready;
                }
            }
            logger?.LogInformation("Waiting for another process preparing the token files ({Key})", key.DirectoryName);
            ct.WaitHandle.WaitOne(_settings.WaitInterval);
            ct.ThrowIfCancellationRequested();
        }
    }

    private void Run(string datasetDirectory, TokenizerOptions tokenizer, TokenFileKey key, string ready, CancellationToken ct)
    {
        var partial = ready + ".partial";
        var statusPath = ready + ".status.json";
        var started = DateTime.UtcNow;
        var status = new PreparationStatus { Key = key, Status = PreparationStatus.Preparing, StartedAt = started };
        void Phase(string phase) => TokenFiles.WriteJson(statusPath, status = status with { Phase = phase });
        try
        {
            Directory.CreateDirectory(partial);
            foreach (var stale in Directory.EnumerateFiles(partial, "*.tmp")) File.Delete(stale);   // a killed attempt's half-written file
            var runs = Path.Combine(partial, "runs");
            if (Directory.Exists(runs)) Directory.Delete(runs, recursive: true);
            var vocabPath = Path.Combine(partial, "vocab.json");
            var mergesPath = Path.Combine(partial, MergesFile);
            var countingPath = Path.Combine(partial, "counting.json");
            if (!File.Exists(vocabPath) || !File.Exists(countingPath))
            {
                Phase("counting");
                var clock = Stopwatch.StartNew();
                var trainPath = Path.Combine(datasetDirectory, "train.txt");
                var (vocabularyCounted, distinct, spilled) = tokenizer.Kind == TokenizerKind.Bpe
                    ? CountBpe(trainPath, runs, tokenizer, mergesPath, ct)
                    : CountTokens(trainPath, runs, Tokenizers.Create(tokenizer), ct);
                if (Directory.Exists(runs)) Directory.Delete(runs, recursive: true);
                TokenFiles.WriteJson(countingPath, new CountingSummary(distinct, spilled, clock.Elapsed.TotalSeconds));
                vocabularyCounted.Save(vocabPath);
                Durable.FlushDirectory(partial);
                logger?.LogInformation("Counted {Distinct} distinct tokens ({Runs} runs on disk) in {Seconds:F1} s", distinct, spilled, clock.Elapsed.TotalSeconds);
                _settings.AfterPhase?.Invoke("counting");
            }
            var counting = System.Text.Json.JsonSerializer.Deserialize<CountingSummary>(File.ReadAllText(countingPath), TokenFiles.Json)!;
            var vocabulary = Vocabulary.Load(vocabPath);
            var tokenizerInstance = Tokenizers.Create(tokenizer, tokenizer.Kind == TokenizerKind.Bpe ? BpeMerges.Load(mergesPath) : null);

            var encoding = Stopwatch.StartNew();
            var tokens = new long[Splits.Length];
            for (var s = 0; s < Splits.Length; s++)
            {
                var target = Path.Combine(partial, Splits[s] + TokenFiles.IdsExtension);
                if (!File.Exists(target))
                {
                    Phase($"encoding {Splits[s]}");
                    var measures = Splits[s] == "test" ? Path.Combine(partial, TokenFiles.TestMeasuresFile) : null;
                    Encode(Path.Combine(datasetDirectory, Splits[s] + ".txt"), Splits[s], target, measures, tokenizerInstance, vocabulary, ct);
                    _settings.AfterPhase?.Invoke($"encoding {Splits[s]}");
                }
                tokens[s] = new FileInfo(target).Length / sizeof(int);
            }
            var (testCharacters, testWords) = SumMeasures(Path.Combine(partial, TokenFiles.TestMeasuresFile));

            var index = new TokenFileIndex
            {
                Key = key,
                TrainTokens = tokens[0], ValidTokens = tokens[1], TestTokens = tokens[2],
                DistinctTokens = counting.Distinct,
                RankedTokens = vocabulary.Count,
                TestCharacters = testCharacters,
                TestWords = testWords,
                Bytes = Splits.Sum(s => SizeOf(Path.Combine(datasetDirectory, s + ".txt"))),
                CountingRuns = counting.Runs,
                CountingSeconds = counting.Seconds,
                EncodingSeconds = encoding.Elapsed.TotalSeconds,
                PreparedAt = DateTime.UtcNow,
            };
            File.Delete(countingPath);
            TokenFiles.WriteJson(Path.Combine(partial, "index.json"), index);
            Durable.FlushTree(partial);
            Durable.MoveDirectory(partial, ready);
            File.Delete(statusPath);
            logger?.LogInformation("Token files ready: {Train} train, {Valid} valid, {Test} test ids", index.TrainTokens, index.ValidTokens, index.TestTokens);
        }
        catch (OperationCanceledException)
        {
            throw;                                                     // the status stays "preparing" and reads as interrupted
        }
        catch (Exception e)
        {
            TryWriteFailed(statusPath, status, e);
            throw;
        }
    }

    /// <summary>
    /// Counts the word or character tokens of the train split in bounded memory (<see cref="TokenCounter"/>) and ranks
    /// them: the vocabulary every <c>maxVocabularySize</c>/<c>minCount</c> is a prefix of.
    /// </summary>
    private (Vocabulary Ranked, long Distinct, int Runs) CountTokens(string trainPath, string runs, ITokenizer tokenizer, CancellationToken ct)
    {
        using var counter = new TokenCounter(runs, _settings.CountingBudget);
        foreach (var line in LineReader.ReadLines(trainPath, "train"))
        {
            ct.ThrowIfCancellationRequested();
            foreach (var token in tokenizer.Tokenize(line + "\n")) counter.Add(token);
        }
        var (ranked, distinct) = counter.Rank(TokenizerOptions.MaxLimit - 2);
        var vocabulary = Vocabulary.FromTokens([Vocabulary.Unk, Vocabulary.Eos, .. ranked.Select(r => r.Token)], [0, 0, .. ranked.Select(r => r.Count)]);
        return (vocabulary, distinct, counter.Runs);
    }

    /// <summary>
    /// BPE: counts the train split's pre-tokens in bounded memory, learns the merges from those counts (what
    /// <see cref="BpeTokenizer.Learn"/> does with the whole text), writes them to <paramref name="mergesPath"/>, and
    /// orders the vocabulary by each token's count in the train split — a pre-token always encodes to the same tokens,
    /// so those counts follow from the pre-tokens' without encoding the text.
    /// </summary>
    private (Vocabulary Vocabulary, long Distinct, int Runs) CountBpe(string trainPath, string runs, TokenizerOptions options, string mergesPath, CancellationToken ct)
    {
        using var counter = new TokenCounter(runs, _settings.CountingBudget);
        var text = false;
        foreach (var line in LineReader.ReadLines(trainPath, "train"))
        {
            ct.ThrowIfCancellationRequested();
            text |= !string.IsNullOrWhiteSpace(line);
            foreach (var piece in BpeTokenizer.PreTokenize(line)) counter.Add(piece);
        }
        if (!text) throw new CorpusException("train", "The train split is empty or whitespace only.");
        var (pieces, distinct) = counter.Rank(int.MaxValue);
        var pieceCounts = pieces.ToDictionary(p => p.Token, p => p.Count, StringComparer.Ordinal);
        var merges = BpeMerges.Learn(pieceCounts, options.BpeVocabularySize - TokenizerOptions.MinBpeVocabularySize);
        merges.Save(mergesPath);
        var tokenCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (piece, count) in pieces)
            foreach (var token in merges.Encode(piece))
                tokenCounts[token] = tokenCounts.GetValueOrDefault(token) + count;
        return (Vocabulary.BuildComplete(tokenCounts, merges.Tokens()), distinct, counter.Runs);
    }

    /// <summary>
    /// Encodes one split line by line into int32 little-endian ids, written to a temporary file, fsynced and renamed;
    /// with <paramref name="measuresPath"/>, first each token's characters and words (<see cref="TextMeasures"/>) as
    /// two int32 to that file the same way (the ids file, renamed last, marks the pass done).
    /// </summary>
    private static void Encode(string source, string field, string target, string? measuresPath, ITokenizer tokenizer, Vocabulary vocabulary, CancellationToken ct)
    {
        var temp = target + ".tmp";
        var measuresTemp = measuresPath + ".tmp";
        var buffer = new int[16 * 1024];
        var used = 0;
        var measureBuffer = new List<int>();
        using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        using (var measures = measuresPath is null ? null : new FileStream(measuresTemp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            foreach (var line in LineReader.ReadLines(source, field))
            {
                ct.ThrowIfCancellationRequested();
                var lineTokens = tokenizer.Tokenize(line + "\n");
                foreach (var token in lineTokens)
                {
                    var id = vocabulary.IdOf(token);
                    buffer[used++] = BitConverter.IsLittleEndian ? id : BinaryPrimitives.ReverseEndianness(id);
                    if (used == buffer.Length) { output.Write(MemoryMarshal.AsBytes(buffer.AsSpan())); used = 0; }
                }
                if (measures is null) continue;
                var measured = TextMeasures.Of(tokenizer, lineTokens);                // line by line: every line ends in <eos>, which resets the count
                measureBuffer.Clear();
                for (var i = 0; i < lineTokens.Count; i++) { measureBuffer.Add(measured.Characters[i]); measureBuffer.Add(measured.Words[i]); }
                if (!BitConverter.IsLittleEndian)
                    for (var i = 0; i < measureBuffer.Count; i++) measureBuffer[i] = BinaryPrimitives.ReverseEndianness(measureBuffer[i]);
                measures.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(measureBuffer)));
            }
            output.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, used)));
            output.Flush(flushToDisk: true);
            measures?.Flush(flushToDisk: true);
        }
        if (measuresPath is not null) File.Move(measuresTemp, measuresPath, overwrite: true);
        File.Move(temp, target);
    }

    /// <summary>The sums of a measures file (characters, words); (0, 0) when there is none.</summary>
    private static (long Characters, long Words) SumMeasures(string path)
    {
        if (!File.Exists(path)) return (0, 0);
        long characters = 0, words = 0;
        var entry = new byte[MappedTextMeasures.EntryBytes];
        using var stream = new BufferedStream(File.OpenRead(path), 1 << 16);
        while (stream.ReadAtLeast(entry, entry.Length, throwOnEndOfStream: false) == entry.Length)
        {
            characters += BinaryPrimitives.ReadInt32LittleEndian(entry);
            words += BinaryPrimitives.ReadInt32LittleEndian(entry.AsSpan(sizeof(int)));
        }
        return (characters, words);
    }

    /// <summary>The length of the file's contents (a symbolic link's target, not the link).</summary>
    private static long SizeOf(string path)
    {
        using var stream = File.OpenRead(path);
        return stream.Length;
    }

    private static void TryWriteFailed(string statusPath, PreparationStatus status, Exception e)
    {
        var reason = e switch
        {
            InvalidSettingException s => s.Reason,
            ModelFormatException m => $"The preparation's own files are damaged ({m.Reason}); delete the dataset's token files or the dataset.",
            IOException => "The server could not read the dataset or write its token files (an I/O error such as a full disk); the next job that needs them tries again.",
            _ => "The preparation failed on the server; the next job that needs it tries again.",
        };
        try { TokenFiles.WriteJson(statusPath, status with { Status = PreparationStatus.Failed, Reason = reason }); }
        catch (IOException) { /* the disk is what failed; the job's own failure says so */ }
    }

    /// <summary>What the counting pass found, kept beside the ranked vocabulary until the index is written.</summary>
    private sealed record CountingSummary(long Distinct, int Runs, double Seconds);
}
