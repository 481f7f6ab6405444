using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Text;

public class TokenizerOptionsTests
{
    [Fact]
    public void Defaults_AreValid_AndMatchTheClassicRecipe()
    {
        var options = new TokenizerOptions();
        options.Validate();
        Assert.Equal((TokenizerKind.Word, true, true, 10000, 1),
            (options.Kind, options.Lowercase, options.SplitPunctuation, options.MaxVocabularySize, options.MinCount));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    [InlineData(1_000_001)]
    public void MaxVocabularySize_OutOfRange_NamesTheField(int size)
    {
        var e = Assert.Throws<InvalidSettingException>(() => new TokenizerOptions { MaxVocabularySize = size }.Validate());
        Assert.Equal("maxVocabularySize", e.Field);
        Assert.Contains("between 3 and 1000000", e.Reason);
        Assert.Throws<InvalidSettingException>(() => Tokenizers.Create(new TokenizerOptions { MaxVocabularySize = size }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_000_001)]
    public void MinCount_OutOfRange_NamesTheField(int minCount)
    {
        var e = Assert.Throws<InvalidSettingException>(() => new TokenizerOptions { MinCount = minCount }.Validate());
        Assert.Equal("minCount", e.Field);
    }

    [Fact]
    public void BoundaryValues_AreAccepted()
    {
        new TokenizerOptions { MaxVocabularySize = 3, MinCount = 1 }.Validate();
        new TokenizerOptions { MaxVocabularySize = 1_000_000, MinCount = 1_000_000 }.Validate();
    }

    [Fact]
    public void UndefinedKind_IsRejected()
    {
        var e = Assert.Throws<InvalidSettingException>(() => new TokenizerOptions { Kind = (TokenizerKind)7 }.Validate());
        Assert.Equal("kind", e.Field);
    }
}
