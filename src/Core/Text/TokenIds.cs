using System.IO.MemoryMappedFiles;

namespace RnnLmService.Core.Text;

/// <summary>
/// A split as a flat sequence of token ids that can be read a window at a time: in memory (a small corpus built
/// from text) or memory-mapped from a prepared token file (a corpus larger than memory).
/// </summary>
public interface ITokenIds : IDisposable
{
    /// <summary>Number of tokens.</summary>
    long Count { get; }

    /// <summary>Copies ids [<paramref name="start"/>, start + destination.Length) into <paramref name="destination"/>.</summary>
    void Read(long start, Span<long> destination);
}

/// <summary>Token ids held in an array (the in-memory path).</summary>
public sealed class ArrayTokenIds(long[] ids) : ITokenIds
{
    /// <inheritdoc />
    public long Count => ids.LongLength;

    /// <inheritdoc />
    public void Read(long start, Span<long> destination) => ids.AsSpan(checked((int)start), destination.Length).CopyTo(destination);

    /// <inheritdoc />
    public void Dispose() { }
}

/// <summary>
/// A token file (int32 little-endian ids, see <see cref="Prepared.TokenFiles"/>) mapped read-only: only the pages a
/// window touches become resident, and the kernel may drop them again, so memory does not grow with the corpus.
/// Ids at or past <see cref="VocabularySize"/> (tokens rarer than the job's vocabulary keeps) read as <c>&lt;unk&gt;</c> (0).
/// </summary>
public sealed class MappedTokenIds : ITokenIds
{
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly int _vocabularySize;

    /// <summary>Maps <paramref name="path"/>; ids ≥ <paramref name="vocabularySize"/> read as 0.</summary>
    public MappedTokenIds(string path, int vocabularySize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 2);
        _vocabularySize = vocabularySize;
        var bytes = new FileInfo(path).Length;
        if (bytes % sizeof(int) != 0) throw new ModelFormatException(path, "The token file's length is not a whole number of int32 ids.");
        Count = bytes / sizeof(int);
        if (Count == 0) return;                                          // an empty file cannot be mapped
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.Read);
    }

    /// <summary>The vocabulary size the ids are cut at.</summary>
    public int VocabularySize => _vocabularySize;

    /// <inheritdoc />
    public long Count { get; }

    /// <inheritdoc />
    public void Read(long start, Span<long> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + destination.Length, Count);
        if (destination.Length == 0) return;
        var raw = new int[destination.Length];
        _view!.ReadArray(start * sizeof(int), raw, 0, raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var id = raw[i];
            if (!BitConverter.IsLittleEndian) id = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(id);
            destination[i] = id < _vocabularySize ? id : 0;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _view?.Dispose();
        _file?.Dispose();
    }
}
