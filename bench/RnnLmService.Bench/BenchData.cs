using System.Security.Cryptography;
using System.Text;
using RnnLmService.Core.Text;

namespace RnnLmService.Bench;

/// <summary>
/// The normalised splits as every contender reads them: whitespace-separated tokens, <c>&lt;eos&gt;</c> at each
/// line end, vocabulary from train by the engine's rule (specials, then count descending, ties ordinal), capped.
/// </summary>
internal static class BenchData
{
    /// <summary>Tokenizer options that only split on whitespace: the files are already normalised.</summary>
    public static TokenizerOptions Whitespace(int maxVocabulary) =>
        new() { Kind = TokenizerKind.Word, Lowercase = false, SplitPunctuation = false, MaxVocabularySize = maxVocabulary };

    public static CorpusSplits Read(string dir) => new(
        CorpusReader.ReadUtf8(Path.Combine(dir, "train.txt"), "train"),
        CorpusReader.ReadUtf8(Path.Combine(dir, "valid.txt"), "valid"),
        CorpusReader.ReadUtf8(Path.Combine(dir, "test.txt"), "test"));

    public static Corpus Load(string dir, int maxVocabulary) => Corpus.Build(Read(dir), Whitespace(maxVocabulary));

    /// <summary>SHA-256 of the tokens in id order joined by '\n': the PyTorch script prints the same, so equal vocabularies show equal hashes.</summary>
    public static string Hash(Vocabulary vocabulary) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', vocabulary.Tokens))))[..16];
}
