namespace RnnLmService.Core.Text;

/// <summary>
/// Byte-level tokens as strings: each of the 256 byte values is one printable character, so a token (a byte
/// sequence that may end inside a UTF-8 character) is an ordinary string in the vocabulary file. Printable
/// ASCII and Latin-1 bytes stand for themselves (<c>'!'..'~'</c>, <c>'¡'..'¬'</c>, <c>'®'..'ÿ'</c>); the other 68
/// (controls, space, DEL, NBSP, soft hyphen) map in byte order to U+0100.. (space is <c>Ġ</c>, newline <c>Ċ</c>), the
/// mapping GPT-2 made familiar.
/// </summary>
public static class ByteLevel
{
    private static readonly char[] ToChar = BuildTable();
    private static readonly Dictionary<char, byte> ToByte = Enumerable.Range(0, 256).ToDictionary(b => ToChar[b], b => (byte)b);

    /// <summary>The character that stands for byte <paramref name="b"/>.</summary>
    public static char Char(byte b) => ToChar[b];

    /// <summary>The string of a byte sequence.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = ToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Appends the bytes of a byte-level token; false (nothing appended) when a character is not a byte character.</summary>
    public static bool TryAppendBytes(string token, List<byte> bytes)
    {
        var start = bytes.Count;
        foreach (var c in token)
        {
            if (!ToByte.TryGetValue(c, out var b)) { bytes.RemoveRange(start, bytes.Count - start); return false; }
            bytes.Add(b);
        }
        return true;
    }

    private static char[] BuildTable()
    {
        var table = new char[256];
        var next = 0x100;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}
