using System.Text.RegularExpressions;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Text;

public class WordTokenizerTests
{
    private static ITokenizer Words(bool lowercase = true, bool split = true) =>
        Tokenizers.Create(new TokenizerOptions { Lowercase = lowercase, SplitPunctuation = split });

    [Fact]
    public void Create_ReturnsWordTokenizerByDefault() => Assert.IsType<WordTokenizer>(Tokenizers.Create(new TokenizerOptions()));

    [Fact]
    public void SplitPunctuation_On_SeparatesPunctuationAndSymbols()
    {
        Assert.Equal(["the", "end", ".", "(", "really", ")", "?", "$", "5", "+", "x"],
            Words().TokenizeLine("The end. (really)? $5+x"));
    }

    [Fact]
    public void SplitPunctuation_Off_KeepsWhitespaceSeparatedWords()
    {
        Assert.Equal(["the", "end.", "(really)?"], Words(split: false).TokenizeLine("The  end.\t(really)?"));
    }

    [Fact]
    public void Apostrophes_InsideWords_AndSeparators_InsideNumbers_StayTogether()
    {
        Assert.Equal(["don't", "l’eau", "'", "quoted", "'", "3.14", "1,000", "5", ",", "a", "."],
            Words().TokenizeLine("don't l’eau 'quoted' 3.14 1,000 5, a."));
    }

    [Fact]
    public void Lowercase_OnAndOff()
    {
        Assert.Equal(["hello", "école", "straße"], Words().TokenizeLine("HELLO École Straße"));
        Assert.Equal(["HELLO", "École"], Words(lowercase: false).TokenizeLine("HELLO École"));
    }

    [Fact]
    public void UnicodeWhitespace_Splits()
    {
        Assert.Equal(["a", "b", "c"], Words().TokenizeLine("a\u00A0b\u3000c"));
    }

    [Fact]
    public void Chinese_PunctuationSplits_AndRoundTripsWithoutSpaces()
    {
        const string text = "语言模型的目标是预测下一个词。";
        var tokens = Words().Tokenize(text);
        Assert.Equal(["语言模型的目标是预测下一个词", "。", "<eos>"], tokens);
        Assert.Equal(text, Words().Detokenize(tokens).Replace(" ", "").TrimEnd('\n'));
    }

    [Fact]
    public void Emoji_AreWholeTokens_ZwjFamilyAndModifiersKept_NoLoneSurrogates()
    {
        const string family = "👨\u200D👩\u200D👧";
        var tokens = Words().TokenizeLine($"hi😀 {family}! ❤️👍🏽");
        Assert.Equal(["hi", "😀", family, "!", "❤️", "👍🏽"], tokens);
        TokenAssert.NoLoneSurrogates(tokens);
        TokenAssert.NoLoneSurrogates(Words().TokenizeLine("bad\uD83Dhalf \uDE00"));
    }

    [Fact]
    public void UnkMarker_IsKeptWhole()
    {
        Assert.Equal(["a", "<unk>", "b", "<", "x", ">"], Words().TokenizeLine("a <unk> b <x>"));
    }

    [Fact]
    public void Eos_AfterEveryLine_BlankAndWhitespaceLinesSkipped()
    {
        var tokens = Words().Tokenize("one two\r\n\r\n   \t\nthree\n\n");
        Assert.Equal(["one", "two", "<eos>", "three", "<eos>"], tokens);
        Assert.Equal(["a", "<eos>"], Words().Tokenize("a"));
        Assert.Equal(["a", "<eos>", "b"], Words().Tokenize("a\nb", appendEos: false));
        Assert.Empty(Words().Tokenize(" \n \n"));
    }

    [Fact]
    public void Detokenize_JoinsWithSpaces_EosIsNewlineWithoutSpaces()
    {
        Assert.Equal("a b\nc\n", Words().Detokenize(["a", "b", "<eos>", "c", "<eos>"]));
    }

    [Fact]
    public void RoundTrip_UpToWhitespaceNormalisation()
    {
        const string text = "  The quick   brown fox\r\n\r\njumps\tover 😀 语言\n";
        var plain = Words(lowercase: false, split: false);
        Assert.Equal("The quick brown fox\njumps over 😀 语言\n", plain.Detokenize(plain.Tokenize(text)));

        // Split punctuation only adds spaces: the text without whitespace is unchanged.
        const string punctuated = "Hello, world! It's 3.14 (approx).\nBye.";
        var split = Words(lowercase: false);
        Assert.Equal(NoSpace(punctuated), NoSpace(split.Detokenize(split.Tokenize(punctuated))));
    }

    private static string NoSpace(string s) => Regex.Replace(s, @"\s+", "");
}
