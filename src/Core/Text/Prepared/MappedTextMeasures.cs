using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace RnnLmService.Core.Text.Prepared;

/// <summary>
/// The test split's <see cref="TextMeasures"/> read from a prepared <c>test.measures</c> file (two int32 little-endian
/// numbers per token: the characters it adds, then the words that start in it) and the totals the index records.
/// <see cref="Scored"/> subtracts the tokens the evaluator does not score (each stream's first and the remainder) from
/// the totals, so it reads a few entries, not the file; the numbers are <see cref="TextMeasures.Scored"/>'s.
/// </summary>
public sealed class MappedTextMeasures : ITextMeasures, IDisposable
{
    /// <summary>Bytes per token in the file.</summary>
    public const int EntryBytes = 2 * sizeof(int);

    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly long _characters;
    private readonly long _words;

    /// <summary>Maps <paramref name="path"/>; <paramref name="characters"/> and <paramref name="words"/> are its sums (from the index).</summary>
    public MappedTextMeasures(string path, long characters, long words)
    {
        var bytes = new FileInfo(path).Length;
        if (bytes % EntryBytes != 0) throw new ModelFormatException(path, "The measures file's length is not a whole number of entries.");
        Count = bytes / EntryBytes;
        (_characters, _words) = (characters, words);
        if (Count == 0) return;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.Read);
    }

    /// <summary>Tokens measured (the test split's token count).</summary>
    public long Count { get; }

    /// <inheritdoc />
    public (long Characters, long Words) Scored(int streams)
    {
        var length = Count / Math.Max(1, streams);
        if (length == 0) return (0, 0);                                 // no stream has a scored token
        var (characters, words) = (_characters, _words);
        void Drop(long t)
        {
            var (c, w) = At(t);
            characters -= c;
            words -= w;
        }
        for (var b = 0L; b < streams; b++) Drop(b * length);              // each stream's first token is only an input
        for (var t = streams * length; t < Count; t++) Drop(t);          // the remainder the streams leave out
        return (characters, words);
    }

    private (int Characters, int Words) At(long token)
    {
        var c = _view!.ReadInt32(token * EntryBytes);
        var w = _view.ReadInt32(token * EntryBytes + sizeof(int));
        return BitConverter.IsLittleEndian ? (c, w) : (BinaryPrimitives.ReverseEndianness(c), BinaryPrimitives.ReverseEndianness(w));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _view?.Dispose();
        _file?.Dispose();
    }
}
