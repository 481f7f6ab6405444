using System.Text;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Text;

public sealed class BpeTokenizerTests
{
    private static readonly string Training =
        "In the beginning God created the heaven and the earth.\n" +
        "And the earth was without form, and void; and darkness was upon the face of the deep.\n" +
        "起初，神创造天地。地是空虚混沌，渊面黑暗。\n" +
        "Café naïve — don't stop 3.14 times! 🎉🎉\n";

    private static readonly string Twice = Training + Training; // every pair at least twice, so no merge is cut short

    private static BpeTokenizer Learn(string text, int vocabularySize = 300) =>
        BpeTokenizer.Learn(new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = vocabularySize }, text);

    [Fact]
    public void A_known_tiny_example_gives_the_merges_computed_by_hand()
    {
        // Pre-tokens: "abab" ×2, "aba", "cd" ×2. Pair counts: (a,b) 5, (b,a) 3, (c,d) 2 → merge a+b.
        // Then (ab,ab) 2, (c,d) 2, (ab,a) 1: a tie at 2, broken by the lower left id ('c' = 99 < "ab" = 256) → c+d,
        // then ab+ab; then only (ab,a) is left, seen once → stop, though 300 − 258 = 42 merges were allowed.
        var bpe = Learn("abab\nabab\naba\ncd\ncd\n", 300);
        Assert.Equal([("a", "b"), ("c", "d"), ("ab", "ab")], bpe.Merges.Merges);
        Assert.Equal(["abab", "ab", "a"], bpe.TokenizeLine("ababab" + "a"));
    }

    [Fact]
    public void Merges_are_deterministic()
    {
        var first = Learn(Twice).Merges.Merges;
        var second = Learn(Twice).Merges.Merges;
        Assert.Equal(first, second);
        Assert.Equal(300 - 258, first.Count);
        // The counts alone decide: the same pre-token counts given in another order learn the same merges.
        var counts = new Dictionary<string, long>();
        foreach (var (line, _) in Twice.Split('\n').Select(l => (l, true)))
            foreach (var piece in BpeTokenizer.PreTokenize(line)) counts[piece] = counts.GetValueOrDefault(piece) + 1;
        var reversed = counts.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(first, BpeMerges.Learn(reversed, 300 - 258).Merges);
    }

    [Theory]
    [InlineData("In the beginning God created the heaven and the earth.")]
    [InlineData("👨‍👩‍👧 ❤️ 👍🏽 🇫🇷 emoji!")]
    [InlineData("中文字符测试，我们的模型。日本語のテキスト")]
    [InlineData("e\u0301 n\u0303 A\u030A combining\u0308 marks, Zalgo: Z\u0351\u0352\u0353")]
    [InlineData("  leading, double  spaces\tand tabs   ")]
    [InlineData("mixed\r\nline\nendings\n\nblank above")]
    public void Round_trips_exactly(string text)
    {
        var bpe = Learn(Twice);
        var expected = text.Replace("\r\n", "\n") + "\n";
        Assert.Equal(expected, bpe.Detokenize(bpe.Tokenize(text)));
    }

    [Fact]
    public void Round_trips_random_valid_utf8_with_no_unknown_tokens()
    {
        var corpus = Corpus.Build(new CorpusSplits(Twice, "And God said.\n", "Let there be light.\n"),
            new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 300 });
        var bpe = (BpeTokenizer)corpus.Tokenizer;
        Assert.Equal(300, corpus.Vocabulary.Count);
        var random = new Random(1234);
        for (var n = 0; n < 200; n++)
        {
            var text = new StringBuilder();
            for (var i = random.Next(1, 40); i > 0; i--)
            {
                // Any scalar value: ASCII, Latin, CJK, emoji planes; no surrogate code points, no line breaks.
                int cp;
                do cp = random.Next(4) switch { 0 => random.Next(0x20, 0x7F), 1 => random.Next(0x80, 0x800), 2 => random.Next(0x800, 0x10000), _ => random.Next(0x10000, 0x110000) };
                while (cp is >= 0xD800 and <= 0xDFFF || cp is '\n' or '\r');
                text.Append(char.ConvertFromUtf32(cp));
            }
            var tokens = bpe.Tokenize(text.ToString());
            Assert.All(tokens, t => Assert.True(corpus.Vocabulary.Contains(t), $"'{t}' is not in the vocabulary"));
            Assert.Equal(text + "\n", bpe.Detokenize(tokens));
        }
    }

    [Fact]
    public void Merges_do_not_cross_pre_token_boundaries_and_a_space_starts_a_word()
    {
        Assert.Equal(["In", " the", " beginning", ",", " God", " 3", ".", "14", "  ", " x"],
            BpeTokenizer.PreTokenize("In the beginning, God 3.14   x"));
        Assert.Equal(["起初", "，", "神"], BpeTokenizer.PreTokenize("起初，神"));
        // " the" ×4 and "the" ×1: t+h and h+e tie at 5, h (104) < t (116) → h+e; then t+he (5); then Ġ+the (4).
        // "e," and "e." are never counted: punctuation is a pre-token of its own.
        var bpe = Learn("the the the the, the.\n", 300);
        Assert.Equal([("h", "e"), ("t", "he"), ("Ġ", "the")], bpe.Merges.Merges);
        Assert.Equal(["the", "Ġthe", ",", "Ġthe", "."], bpe.TokenizeLine("the the, the."));
    }

    [Fact]
    public void Vocabulary_size_is_validated_naming_the_field()
    {
        var e = Assert.Throws<InvalidSettingException>(() => new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 100 }.Validate());
        Assert.Equal("tokenizer.vocabularySize", e.Field);
        Assert.Equal("tokenizer.vocabularySize", Assert.Throws<InvalidSettingException>(() => new TokenizerOptions { VocabularySize = 500 }.Validate()).Field);
    }
}
