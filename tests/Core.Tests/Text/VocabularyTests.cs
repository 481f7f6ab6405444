using System.Text;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Text;

public sealed class VocabularyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rnnlm-vocab-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // counts: the 4, b 3, a 3, c 2, z 1  (plus specials in the stream, which are not counted)
    private static readonly string[] Stream =
        ["the", "b", "a", "the", "c", "<eos>", "a", "the", "b", "z", "c", "<unk>", "b", "a", "the", "<eos>"];

    [Fact]
    public void Build_SpecialsFirst_ThenCountDescending_TiesInOrdinalOrder()
    {
        var vocab = Vocabulary.Build(Stream, maxSize: 100, minCount: 1);
        Assert.Equal(["<unk>", "<eos>", "the", "a", "b", "c", "z"], vocab.Tokens);
        Assert.Equal((0, 1), (vocab.UnkId, vocab.EosId));
        Assert.Equal(7, vocab.Count);
    }

    [Fact]
    public void Build_MaxSize_CountsTheSpecials()
    {
        var vocab = Vocabulary.Build(Stream, maxSize: 4, minCount: 1);
        Assert.Equal(["<unk>", "<eos>", "the", "a"], vocab.Tokens);
        Assert.Equal(vocab.UnkId, vocab.IdOf("b"));
    }

    [Fact]
    public void Build_MinCount_DropsRareTokens()
    {
        Assert.Equal(["<unk>", "<eos>", "the", "a", "b"], Vocabulary.Build(Stream, 100, minCount: 3).Tokens);
        Assert.Equal(["<unk>", "<eos>", "the"], Vocabulary.Build(Stream, 100, minCount: 4).Tokens);
    }

    [Fact]
    public void Build_NothingSurvives_ThrowsCorpusExceptionNamingTrain()
    {
        var e = Assert.Throws<CorpusException>(() => Vocabulary.Build(Stream, 100, minCount: 5));
        Assert.Equal("train", e.Field);
        Assert.Equal("train", Assert.Throws<CorpusException>(() => Vocabulary.Build(["<eos>"], 100, 1)).Field);
    }

    [Fact]
    public void Build_OutOfRangeSettings_NameTheField()
    {
        Assert.Equal("maxVocabularySize", Assert.Throws<InvalidSettingException>(() => Vocabulary.Build(Stream, 2, 1)).Field);
        Assert.Equal("minCount", Assert.Throws<InvalidSettingException>(() => Vocabulary.Build(Stream, 10, 0)).Field);
    }

    [Fact]
    public void IdOf_Contains_Indexer_Encode()
    {
        var vocab = Vocabulary.Build(Stream, 100, 1);
        Assert.Equal(2, vocab.IdOf("the"));
        Assert.Equal(vocab.UnkId, vocab.IdOf("never-seen"));
        Assert.True(vocab.Contains("<eos>"));
        Assert.False(vocab.Contains("never-seen"));
        Assert.Equal("z", vocab[6]);
        Assert.Throws<ArgumentOutOfRangeException>(() => vocab[7]);
        Assert.Equal([2L, 6, 0, 1], vocab.Encode(["the", "z", "unknown", "<eos>"]));
    }

    [Fact]
    public void FromTokens_ValidatesSpecialsAndDuplicates()
    {
        Assert.Equal(3, Vocabulary.FromTokens(["<unk>", "<eos>", "x"]).Count);
        Assert.Throws<ArgumentException>(() => Vocabulary.FromTokens(["<eos>", "<unk>", "x"]));
        Assert.Throws<ArgumentException>(() => Vocabulary.FromTokens(["<unk>", "<eos>", "x", "x"]));
        Assert.Throws<ArgumentException>(() => Vocabulary.FromTokens(["<unk>", "<eos>", ""]));
    }

    [Fact]
    public void SaveLoad_RoundTrips_IncludingChineseAndEmoji_AndOverwrites()
    {
        var path = Path.Combine(_dir, "vocab.json");
        Vocabulary.FromTokens(["<unk>", "<eos>", "old"]).Save(path);
        var vocab = Vocabulary.FromTokens(["<unk>", "<eos>", "词", "😀", "\"quoted\""]);
        vocab.Save(path);

        Assert.Equal(vocab.Tokens, Vocabulary.Load(path).Tokens);
        Assert.Contains("词", File.ReadAllText(path, Encoding.UTF8));
        Assert.Equal(["vocab.json"], Directory.GetFiles(_dir).Select(Path.GetFileName)); // no temp file left behind
    }

    [Theory]
    [InlineData("[\"<unk>\", \"<eos>\", \"a")]        // truncated
    [InlineData("")]                                   // empty
    [InlineData("{\"tokens\": [\"<unk>\"]}")]          // another JSON document
    [InlineData("[\"a\", \"b\"]")]                     // no specials
    [InlineData("[\"<unk>\", \"<eos>\", null]")]       // null token
    [InlineData("null")]
    public void Load_TruncatedOrForeignFile_ThrowsModelFormatException(string content)
    {
        var path = Path.Combine(_dir, "vocab.json");
        File.WriteAllText(path, content);
        var e = Assert.Throws<ModelFormatException>(() => Vocabulary.Load(path));
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void Load_BinaryOrMissingFile_ThrowsModelFormatException()
    {
        var binary = Path.Combine(_dir, "weights.bin");
        File.WriteAllBytes(binary, [0x80, 0x02, 0xFF, 0x00, 0x5B]);
        Assert.Throws<ModelFormatException>(() => Vocabulary.Load(binary));
        Assert.Contains("missing", Assert.Throws<ModelFormatException>(() => Vocabulary.Load(Path.Combine(_dir, "nope.json"))).Message);
    }

    [Fact]
    public void Build_KeepsTrainingCounts_AndSaveLoadRoundTripsThemBesideTheTokens()
    {
        var vocab = Vocabulary.Build(Stream, maxSize: 100, minCount: 1);
        Assert.Equal([0L, 0, 4, 3, 3, 2, 1], vocab.Counts);

        var path = Path.Combine(_dir, "vocab.json");
        vocab.Save(path);
        Assert.Equal(Path.Combine(_dir, "vocab.counts.json"), Vocabulary.CountsPath(path));
        Assert.True(File.Exists(Vocabulary.CountsPath(path)));
        Assert.Equal(vocab.Counts, Vocabulary.Load(path).Counts);
        // The tokens file keeps its old format (a JSON array of strings), so older readers still load it.
        Assert.Equal(vocab.Tokens, System.Text.Json.JsonSerializer.Deserialize<string[]>(File.ReadAllText(path)));
    }

    [Fact]
    public void Load_WithoutACountsFile_HasNoCounts_AndABrokenCountsFileIsAFormatError()
    {
        var path = Path.Combine(_dir, "new", "vocab.json");
        Vocabulary.FromTokens(["<unk>", "<eos>", "a"]).Save(path);
        Assert.False(File.Exists(Vocabulary.CountsPath(path)));
        Assert.Null(Vocabulary.Load(path).Counts);

        File.WriteAllText(Vocabulary.CountsPath(path), "[0, 0]");
        Assert.Throws<ModelFormatException>(() => Vocabulary.Load(path));
        File.WriteAllText(Vocabulary.CountsPath(path), "[0, 0, 5");
        Assert.Throws<ModelFormatException>(() => Vocabulary.Load(path));
    }
}
