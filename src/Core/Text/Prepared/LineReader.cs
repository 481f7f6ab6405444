using System.Text;

namespace RnnLmService.Core.Text.Prepared;

/// <summary>
/// The lines of a UTF-8 file read a buffer at a time, cut exactly as <see cref="TextLines.Split"/> cuts a string: at
/// <c>\n</c>, a <c>\r</c> right before it dropped, no empty line after a final newline, a leading BOM skipped.
/// Memory is one buffer and the longest line.
/// </summary>
internal static class LineReader
{
    private const int BufferChars = 1 << 16;

    /// <summary>The file's lines; <see cref="CorpusException"/> naming <paramref name="field"/> when it is not UTF-8.</summary>
    public static IEnumerable<string> ReadLines(string path, string field, Action<long>? bytesRead = null)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true, BufferChars);
        var buffer = new char[BufferChars];
        var partial = new StringBuilder();
        while (true)
        {
            int n;
            try { n = reader.Read(buffer, 0, buffer.Length); }
            catch (DecoderFallbackException) { throw new CorpusException(field, $"The {field} text is not valid UTF-8."); }
            if (n == 0) break;
            bytesRead?.Invoke(stream.Position);
            var start = 0;
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != '\n') continue;
                partial.Append(buffer, start, i - start);
                if (partial.Length > 0 && partial[^1] == '\r') partial.Length--;
                yield return partial.ToString();
                partial.Clear();
                start = i + 1;
            }
            partial.Append(buffer, start, n - start);
        }
        if (partial.Length > 0) yield return partial.ToString();
    }
}
