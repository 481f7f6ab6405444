using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace RnnLmService.Core.Text;

/// <summary>Reads corpus text strictly as UTF-8 and splits one text into train/valid/test.</summary>
public static class CorpusReader
{
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>
    /// The text of the file at <paramref name="path"/>. Throws <see cref="CorpusException"/> naming
    /// <paramref name="field"/> when the file is missing or not valid UTF-8 (a leading BOM is allowed).
    /// </summary>
    public static string ReadUtf8(string path, string field)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new CorpusException(field, $"The {field} file does not exist.");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException e) { throw new CorpusException(field, $"The {field} file cannot be read: {e.Message}"); }
        return DecodeUtf8(bytes, field);
    }

    /// <summary>
    /// Decodes <paramref name="bytes"/> as strict UTF-8 (a leading BOM is dropped). Throws
    /// <see cref="CorpusException"/> naming <paramref name="field"/> and the byte offset of the first invalid sequence.
    /// </summary>
    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string field)
    {
        int offset = bytes.StartsWith(Utf8Bom) ? Utf8Bom.Length : 0;
        var body = bytes[offset..];
        var buffer = ArrayPool<char>.Shared.Rent(Math.Max(1, body.Length)); // UTF-16 never needs more chars than UTF-8 has bytes
        try
        {
            var status = Utf8.ToUtf16(body, buffer, out int read, out int written, replaceInvalidSequences: false);
            if (status != System.Buffers.OperationStatus.Done)
                throw new CorpusException(field, $"The {field} text is not valid UTF-8 at byte offset {offset + read}.");
            return new string(buffer, 0, written);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Splits <paramref name="text"/> by lines into contiguous blocks: train is the first lines, valid the
    /// next <paramref name="validFraction"/> of them, test the last <paramref name="testFraction"/>.
    /// Fractions count non-blank lines (rounded down, at least one each); blank lines stay where they
    /// are, in the block that holds them. Line endings become <c>\n</c> and each block ends with one.
    /// Throws <see cref="CorpusException"/> (field <c>text</c>) when there are fewer than 3 non-blank lines.
    /// </summary>
    public static CorpusSplits SplitDeterministically(string text, double validFraction = 0.1, double testFraction = 0.1)
    {
        ArgumentNullException.ThrowIfNull(text);
        InvalidSettingException.Check(validFraction is > 0 and < 1, "validFraction", $"validFraction must be between 0 and 1, exclusive (got {validFraction}).");
        InvalidSettingException.Check(testFraction is > 0 and < 1, "testFraction", $"testFraction must be between 0 and 1, exclusive (got {testFraction}).");
        InvalidSettingException.Check(validFraction + testFraction < 1, "validFraction", "validFraction + testFraction must be less than 1.");

        var lines = TextLines.Split(text).Select(l => l.Line).ToList();
        var contentLines = Enumerable.Range(0, lines.Count).Where(i => !string.IsNullOrWhiteSpace(lines[i])).ToList();
        int n = contentLines.Count;
        if (n < 3)
            throw new CorpusException("text", $"The text has {n} non-blank line(s); at least 3 are needed to split it into train, valid and test.");

        int test = Math.Max(1, (int)Math.Floor(n * testFraction + 1e-9));
        int valid = Math.Max(1, (int)Math.Floor(n * validFraction + 1e-9));
        while (n - valid - test < 1) { if (valid >= test) valid--; else test--; } // keep train non-empty; fractions < 1 and n >= 3 keep each >= 1
        int validStart = contentLines[n - valid - test], testStart = contentLines[n - test];
        return new CorpusSplits(
            Join(lines, 0, validStart),
            Join(lines, validStart, testStart),
            Join(lines, testStart, lines.Count));
    }

    private static string Join(List<string> lines, int start, int end)
    {
        var text = new StringBuilder();
        for (int i = start; i < end; i++) text.Append(lines[i]).Append('\n');
        return text.ToString();
    }
}
