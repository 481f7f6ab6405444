using System.Text;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Prepared;

/// <summary>Small dataset directories (train.txt, valid.txt, test.txt) with the awkward cases a line reader can get wrong.</summary>
internal static class PreparedCorpora
{
    /// <summary>BOM, CRLF, a lone CR, blank and whitespace-only lines, PTB's &lt;unk&gt;, a literal &lt;eos&gt; word, emoji, no final newline.</summary>
    public static CorpusSplits Awkward() => new(
        "\uFEFFThe cat sat on the mat.\r\nthe dog, the cat; THE END\n\n   \nan <unk> word and <eos> too\r\nnaïve café 3.14 don't 👨‍👩‍👧 ❤️\rhalf\nthe the the cat\nlast line without newline",
        "the cat\r\n\nunseen words here, Ωmega\nthe mat",
        "the dog sat\nzebra\n");

    /// <summary>Many distinct words with a skewed frequency (word k appears about n/k times) and ties.</summary>
    public static CorpusSplits Zipf(int lines = 400, int seed = 7)
    {
        var random = new Random(seed);
        string Line()
        {
            var words = new StringBuilder();
            for (var i = 0; i < 8; i++) words.Append("w").Append((int)(1 / (random.NextDouble() + 0.002))).Append(' ');
            return words.ToString().TrimEnd();
        }
        string Text(int n) => string.Join("\n", Enumerable.Range(0, n).Select(_ => Line())) + "\n";
        return new CorpusSplits(Text(lines), Text(lines / 10), Text(lines / 10));
    }

    /// <summary>Writes the splits as a dataset directory's files, byte for byte (the BOM included).</summary>
    public static void Write(string directory, CorpusSplits splits)
    {
        Directory.CreateDirectory(directory);
        var utf8 = new UTF8Encoding(false);
        File.WriteAllText(Path.Combine(directory, "train.txt"), splits.Train, utf8);
        File.WriteAllText(Path.Combine(directory, "valid.txt"), splits.Valid, utf8);
        File.WriteAllText(Path.Combine(directory, "test.txt"), splits.Test, utf8);
    }

    /// <summary>All ids of a split.</summary>
    public static long[] ReadAll(ITokenIds ids)
    {
        var all = new long[ids.Count];
        ids.Read(0, all);
        return all;
    }
}
