using System.Text;
using RnnLmService.Core.Text;

namespace RnnLmService.Bench;

/// <summary>
/// Normalises a one-verse-per-line text once for every contender: the engine's <see cref="WordTokenizer"/>
/// (lower-case, punctuation split) joins each line's tokens with single spaces, and the lines are split
/// contiguously 80/10/10 into train.txt, valid.txt and test.txt. Contenders then only split on whitespace.
/// </summary>
internal static class Normalize
{
    public static int Run(string input, string outDir)
    {
        var tokenizer = new WordTokenizer(new TokenizerOptions { Lowercase = true, SplitPunctuation = true });
        var lines = File.ReadLines(input)
            .Select(line => string.Join(' ', tokenizer.TokenizeLine(line)))
            .Where(line => line.Length > 0)
            .ToList();
        var splits = CorpusReader.SplitDeterministically(string.Join('\n', lines) + "\n", validFraction: 0.1, testFraction: 0.1);
        Directory.CreateDirectory(outDir);
        foreach (var (name, text) in new[] { ("train", splits.Train), ("valid", splits.Valid), ("test", splits.Test) })
        {
            var path = Path.Combine(outDir, name + ".txt");
            var temp = path + ".tmp";
            File.WriteAllText(temp, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temp, path, overwrite: true);
            var tokens = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            var count = text.Count(c => c == '\n');
            Console.Error.WriteLine($"{path}: {count} lines, {tokens} tokens (+{count} <eos>)");
        }
        return 0;
    }
}
