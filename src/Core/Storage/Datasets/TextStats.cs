using System.Security.Cryptography;
using System.Text;

namespace RnnLmService.Core.Storage.Datasets;

/// <summary>Counts of one text: lines, words (runs of non-whitespace), characters (Unicode scalar values), bytes.</summary>
public readonly record struct TextCounts(long Lines, long Words, long Characters, long Bytes)
{
    public static TextCounts operator +(TextCounts a, TextCounts b) =>
        new(a.Lines + b.Lines, a.Words + b.Words, a.Characters + b.Characters, a.Bytes + b.Bytes);
}

/// <summary>
/// Counts a UTF-8 byte stream chunk by chunk, rejecting anything that is not strict UTF-8, and hashes it
/// (SHA-256) as it goes: a corpus of any size is checked with one buffer of memory.
/// </summary>
internal sealed class TextStats : IDisposable
{
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetDecoder();
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly string _field;
    private char[] _chars = new char[16 * 1024];
    private long _lines, _words, _characters, _bytes;
    private bool _inWord;
    private char _last = '\n';

    public TextStats(string field) => _field = field;

    /// <summary>Adds the next chunk; <see cref="CorpusException"/> naming the field if it is not UTF-8.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        _sha.AppendData(bytes);
        Decode(bytes, flush: false);
        _bytes += bytes.Length;
    }

    /// <summary>Ends the text (a truncated last sequence is an error) and returns its counts.</summary>
    public TextCounts Complete()
    {
        Decode([], flush: true);
        if (_bytes > 0 && _last != '\n') _lines++;
        return new TextCounts(_lines, _words, _characters, _bytes);
    }

    /// <summary>Lowercase hex SHA-256 of everything appended.</summary>
    public string Sha256Hex() => Convert.ToHexStringLower(_sha.GetHashAndReset());

    private void Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        int n;
        try
        {
            var needed = _decoder.GetCharCount(bytes, flush) + 4;
            if (needed > _chars.Length) _chars = new char[needed];
            n = _decoder.GetChars(bytes, _chars, flush);
        }
        catch (DecoderFallbackException e)
        {
            throw new CorpusException(_field, $"'{_field}' is not valid UTF-8 text (invalid bytes near byte offset {_bytes + Math.Max(e.Index, 0)}).");
        }
        foreach (var c in _chars.AsSpan(0, n))
        {
            if (!char.IsLowSurrogate(c)) _characters++;
            if (c == '\n') _lines++;
            if (char.IsWhiteSpace(c)) _inWord = false;
            else if (!_inWord) { _inWord = true; _words++; }
            _last = c;
        }
    }

    public void Dispose() => _sha.Dispose();
}
