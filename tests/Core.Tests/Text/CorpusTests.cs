using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Text;

public class CorpusTests
{
    private static readonly CorpusSplits Splits = new(
        Train: "the cat sat\nthe dog sat\n",
        Valid: "the bird sat\n",
        Test: "a cat\n");

    [Fact]
    public void Build_VocabularyFromTrainOnly_SplitsEncodedWithEos()
    {
        var corpus = Corpus.Build(Splits, new TokenizerOptions());
        // the 2, sat 2, cat 1, dog 1
        Assert.Equal(["<unk>", "<eos>", "sat", "the", "cat", "dog"], corpus.Vocabulary.Tokens);
        Assert.Equal([3L, 4, 2, 1, 3, 5, 2, 1], corpus.Train);
        Assert.Equal([3L, 0, 2, 1], corpus.Valid); // "bird" only in valid: <unk>
        Assert.Equal([0L, 4, 1], corpus.Test);
        Assert.IsType<WordTokenizer>(corpus.Tokenizer);
    }

    [Fact]
    public void Build_CharacterLevel()
    {
        var corpus = Corpus.Build(new CorpusSplits("aab\n", "b\n", "c\n"), new TokenizerOptions { Kind = TokenizerKind.Character });
        Assert.Equal(["<unk>", "<eos>", "a", "b"], corpus.Vocabulary.Tokens);
        Assert.Equal([2L, 2, 3, 1], corpus.Train);
        Assert.Equal([0L, 1], corpus.Test);
    }

    [Theory]
    [InlineData("", "v\n", "t\n", "train")]
    [InlineData("x\n", " \r\n\t", "t\n", "valid")]
    [InlineData("x\n", "v\n", "\n\n", "test")]
    public void Build_EmptyOrWhitespaceSplit_NamesTheSplit(string train, string valid, string test, string field)
    {
        var e = Assert.Throws<CorpusException>(() => Corpus.Build(new CorpusSplits(train, valid, test), new TokenizerOptions()));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Build_ValidatesOptions()
    {
        var e = Assert.Throws<InvalidSettingException>(() => Corpus.Build(Splits, new TokenizerOptions { MaxVocabularySize = 1 }));
        Assert.Equal("maxVocabularySize", e.Field);
    }

    [Fact]
    public void Encode_ReusesASavedVocabulary()
    {
        var vocab = Vocabulary.FromTokens(["<unk>", "<eos>", "cat"]);
        var tokenizer = Tokenizers.Create(new TokenizerOptions());
        var corpus = Corpus.Encode(Splits, tokenizer, vocab);
        Assert.Same(vocab, corpus.Vocabulary);
        Assert.Equal([0L, 2, 1], corpus.Test);
        Assert.Equal("valid", Assert.Throws<CorpusException>(() => Corpus.Encode(Splits with { Valid = "  " }, tokenizer, vocab)).Field);
    }
}
