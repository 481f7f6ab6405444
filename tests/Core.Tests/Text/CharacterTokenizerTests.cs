using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Text;

public class CharacterTokenizerTests
{
    private static readonly ITokenizer Chars = Tokenizers.Create(new TokenizerOptions { Kind = TokenizerKind.Character });

    [Fact]
    public void Create_ReturnsCharacterTokenizer() => Assert.IsType<CharacterTokenizer>(Chars);

    [Fact]
    public void Chinese_OneTokenPerCharacter_RoundTrips()
    {
        const string text = "语言模型的目标是预测下一个词。";
        var tokens = Chars.Tokenize(text);
        Assert.Equal(text.Length + 1, tokens.Count);
        Assert.Equal(["语", "言", "模"], tokens.Take(3));
        Assert.Equal("。", tokens[^2]);
        Assert.Equal(Vocabulary.Eos, tokens[^1]);
        Assert.Equal(text + "\n", Chars.Detokenize(tokens));
    }

    [Fact]
    public void Emoji_SurrogatePairsStayWhole_ZwjSequenceSplitsIntoCodePoints()
    {
        const string family = "👨\u200D👩\u200D👧";
        var tokens = Chars.TokenizeLine("a😀b" + family + "𝄞");
        Assert.Equal(["a", "😀", "b", "👨", "\u200D", "👩", "\u200D", "👧", "𝄞"], tokens);
        TokenAssert.NoLoneSurrogates(tokens);
    }

    [Fact]
    public void LoneSurrogateInInput_BecomesReplacementCharacter()
    {
        var tokens = Chars.TokenizeLine("a\uD83Db\uDE00");
        Assert.Equal(["a", "\uFFFD", "b", "\uFFFD"], tokens);
        TokenAssert.NoLoneSurrogates(tokens);
    }

    [Fact]
    public void Eos_AfterEveryLine_CrLfIsALineEnd_BlankLinesKept()
    {
        var tokens = Chars.Tokenize("ab\r\n\r\n c\n");
        Assert.Equal(["a", "b", "<eos>", "<eos>", " ", "c", "<eos>"], tokens);
    }

    [Fact]
    public void LastLineWithoutNewline_GetsEos_UnlessAppendEosIsFalse()
    {
        Assert.Equal(["a", "<eos>", "b", "<eos>"], Chars.Tokenize("a\nb"));
        Assert.Equal(["a", "<eos>", "b"], Chars.Tokenize("a\nb", appendEos: false));
        Assert.Equal(["a", "<eos>"], Chars.Tokenize("a\n", appendEos: false));
        Assert.Empty(Chars.Tokenize(""));
    }

    [Theory]
    [InlineData("Hello, World!\n  two  spaces\t\n\nend 😀👍🏽\n")]
    [InlineData("语言模型\r\n的目标\r\n")]
    [InlineData("\n\nleading blank lines\n")]
    public void RoundTrip_IsExact_WithLineEndingsNormalised(string text)
    {
        var tokens = Chars.Tokenize(text);
        Assert.Equal(text.Replace("\r\n", "\n"), Chars.Detokenize(tokens));
        TokenAssert.NoLoneSurrogates(tokens);
    }

    [Fact]
    public void LowercaseOption_DoesNotApplyToCharacters()
    {
        Assert.Equal(["A", "b"], Chars.TokenizeLine("Ab"));
    }
}
