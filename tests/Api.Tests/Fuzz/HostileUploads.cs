using System.Text;

namespace RnnLmService.Api.Tests.Fuzz;

/// <summary>Hostile multipart forms (built byte by byte, so headers can hold anything) and hostile binary bodies (tar imports).</summary>
internal static class HostileUploads
{
    private const string Boundary = "fuzz-boundary-7f3a";
    public const string FormContentType = "multipart/form-data; boundary=" + Boundary;

    /// <summary>One part of a form: its disposition name, file name (null for a plain field) and content.</summary>
    public sealed record Part(string? Name, byte[]? FileName, byte[] Content, bool Disposition = true);

    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>A small corpus that is a valid upload.</summary>
    public static readonly byte[] Corpus = Text(string.Concat(Enumerable.Repeat("the cat sat on the mat .\nthe dog ran to the log .\n", 20)));

    /// <summary>
    /// Forms for an upload whose schema has the file fields <paramref name="files"/> and the text fields
    /// <paramref name="fields"/>: valid ones, then every field and file name and content made hostile, and broken structure.
    /// </summary>
    public static IEnumerable<(string Name, byte[] Body, string ContentType)> Forms(IReadOnlyList<string> files, IReadOnlyList<string> fields)
    {
        var file = files.FirstOrDefault() ?? "file";
        Part Valid(string name) => new(name, Text(name + ".txt"), Corpus);
        (string, byte[], string) Form(string what, params Part[] parts) => (what, Build(parts), FormContentType);

        yield return Form("valid first file", Valid(file));
        yield return Form("every file field", files.Select(Valid).ToArray());
        foreach (var field in fields)
            foreach (var (what, value) in Strings())
                yield return Form($"field '{field}' = {what}", Valid(file), new Part(field, null, value));
        foreach (var f in files)
        {
            foreach (var (what, value) in Strings())
            {
                yield return Form($"file '{f}' content {what}", new Part(f, Text("a.txt"), value));
                if (value.Length < 100_000) yield return Form($"file '{f}' file name {what}", new Part(f, value, Corpus));
            }
        }
        yield return Form($"file '{file}' 10 MB without a line break", new Part(file, Text("big.txt"), Encoding.ASCII.GetBytes(new string('w', HostileValues.TenMegabytes))));
        yield return Form($"file '{file}' 10 MB of random bytes", new Part(file, Text("bin.txt"), Random(HostileValues.TenMegabytes, 15)));
        yield return Form("no parts");
        yield return Form("a part without a name", new Part(null, Text("a.txt"), Corpus));
        yield return Form("a part without Content-Disposition", new Part(file, null, Corpus, Disposition: false));
        yield return Form("the file twice", Valid(file), Valid(file));
        yield return Form("an unknown part", Valid(file), new Part("notAField", null, Text("1")));
        yield return Form("a file in a text field", new Part(fields.FirstOrDefault() ?? "name", Text("n.txt"), Corpus), Valid(file));
        yield return Form("2,000 parts", Enumerable.Range(0, 2000).Select(i => new Part($"p{i}", null, Text("x"))).Append(Valid(file)).ToArray());
        var truncated = Build(Valid(file));
        yield return ("truncated before the closing boundary", truncated[..^(Boundary.Length + 8)], FormContentType);
        yield return ("a header line of 100,000 bytes", Text($"--{Boundary}\r\nX-Long: {new string('h', 100_000)}\r\n\r\nx\r\n--{Boundary}--\r\n"), FormContentType);
    }

    /// <summary>Binary bodies for an archive import: empty, garbage, a header that claims 8 GB, 10 MB of zeros.</summary>
    public static IEnumerable<(string Name, byte[] Body)> Archives()
    {
        yield return ("empty", []);
        yield return ("invalid UTF-8 bytes", HostileValues.InvalidUtf8);
        yield return ("one zero block", new byte[512]);
        yield return ("random 20 KB", Random(20_000, 7));
        yield return ("a header claiming 8 GB, then 100 bytes", [.. TarHeader("model.json", "77777777777"), .. new byte[100]]);
        yield return ("a header with a negative-looking size", [.. TarHeader("model.json", "-0000000001"), .. new byte[512]]);
        yield return ("a member named ../../escape", [.. TarHeader("../../escape", "00000000001"), .. new byte[1024]]);
        yield return ("10 MB of zeros", new byte[HostileValues.TenMegabytes]);
    }

    /// <summary>Values for fields, file names and contents.</summary>
    private static IEnumerable<(string, byte[])> Strings() =>
    [
        ("empty", []), ("invalid UTF-8", HostileValues.InvalidUtf8), ("CESU lone surrogate", [0xED, 0xA0, 0x80]),
        ("RTL override", Text("\u202Eevil\u202C")), ("control characters", Text("a\u0000b\u001b[31m\u007f")), ("path", Text("../../etc/passwd")),
        ("300 characters", Text(new string('n', 300))), ("CR LF only", Text("\r\n\r\n")), ("NUL bytes", new byte[64]),
        ("1 MB", Text(new string('m', 1 << 20))),
    ];

    private static byte[] Build(params Part[] parts)
    {
        using var body = new MemoryStream();
        void Write(string s) => body.Write(Encoding.UTF8.GetBytes(s));
        foreach (var part in parts)
        {
            Write($"--{Boundary}\r\n");
            if (part.Disposition)
            {
                Write("Content-Disposition: form-data");
                if (part.Name is not null) Write($"; name=\"{part.Name}\"");
                if (part.FileName is not null)
                {
                    Write("; filename=\"");
                    body.Write(part.FileName);
                    Write("\"");
                }
                Write("\r\n");
            }
            if (part.FileName is not null) Write("Content-Type: text/plain\r\n");
            Write("\r\n");
            body.Write(part.Content);
            Write("\r\n");
        }
        Write($"--{Boundary}--\r\n");
        return body.ToArray();
    }

    private static byte[] TarHeader(string name, string size)
    {
        var header = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(header, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(header, 100);
        Encoding.ASCII.GetBytes(size + "\0").CopyTo(header, 124);
        header[156] = (byte)'0';
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(header, 257);
        Array.Fill(header, (byte)' ', 148, 8);
        var sum = header.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        return header;
    }

    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
