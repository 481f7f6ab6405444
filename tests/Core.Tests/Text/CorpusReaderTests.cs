using System.Text;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Text;

public sealed class CorpusReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rnnlm-corpus-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ReadUtf8_DecodesUtf8_AndDropsBom()
    {
        var path = Path.Combine(_dir, "train.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("语言 😀\n")]);
        Assert.Equal("语言 😀\n", CorpusReader.ReadUtf8(path, "train"));
    }

    [Fact]
    public void ReadUtf8_InvalidBytes_NameTheFieldAndByteOffset()
    {
        var path = Path.Combine(_dir, "valid.txt");
        File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes("ok é\n"), 0xFF, (byte)'x']); // "ok é\n" is 6 bytes
        var e = Assert.Throws<CorpusException>(() => CorpusReader.ReadUtf8(path, "valid"));
        Assert.Equal("valid", e.Field);
        Assert.Contains("not valid UTF-8 at byte offset 6", e.Reason);
    }

    [Theory]
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, 0x61, 0xC3 }, 4)]   // truncated sequence after a BOM
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, 0)]               // encoded surrogate
    [InlineData(new byte[] { 0x61, 0xC0, 0xAF }, 1)]               // overlong
    [InlineData(new byte[] { 0xE9, 0x74, 0xE9 }, 0)]               // Latin-1 "été"
    public void DecodeUtf8_RejectsMalformedSequences(byte[] bytes, int offset)
    {
        var e = Assert.Throws<CorpusException>(() => CorpusReader.DecodeUtf8(bytes, "text"));
        Assert.Equal("text", e.Field);
        Assert.Contains($"byte offset {offset}", e.Reason);
    }

    [Fact]
    public void DecodeUtf8_Empty_IsEmpty() => Assert.Equal("", CorpusReader.DecodeUtf8([], "text"));

    [Fact]
    public void ReadUtf8_MissingFile_ThrowsCorpusException()
    {
        var e = Assert.Throws<CorpusException>(() => CorpusReader.ReadUtf8(Path.Combine(_dir, "nope.txt"), "test"));
        Assert.Equal("test", e.Field);
    }

    [Fact]
    public void Split_IsContiguous_80_10_10()
    {
        var text = string.Concat(Enumerable.Range(0, 20).Select(i => $"line {i}\r\n"));
        var splits = CorpusReader.SplitDeterministically(text);
        Assert.Equal(LinesOf(0, 16), splits.Train);
        Assert.Equal(LinesOf(16, 2), splits.Valid);
        Assert.Equal(LinesOf(18, 2), splits.Test);
        Assert.Equal(splits, CorpusReader.SplitDeterministically(text)); // deterministic
    }

    [Theory]
    [InlineData(3, 1, 1, 1)]
    [InlineData(10, 8, 1, 1)]
    [InlineData(19, 17, 1, 1)]
    [InlineData(100, 80, 10, 10)]
    public void Split_LineCounts(int lines, int train, int valid, int test)
    {
        var text = string.Join("\n", Enumerable.Range(0, lines).Select(i => $"w{i}")); // no trailing newline
        var splits = CorpusReader.SplitDeterministically(text);
        Assert.Equal((train, valid, test), (Count(splits.Train), Count(splits.Valid), Count(splits.Test)));
    }

    [Fact]
    public void Split_CountsNonBlankLines_AndKeepsBlankLinesInPlace()
    {
        var splits = CorpusReader.SplitDeterministically("a\n\nb\n  \nc\n\n");
        Assert.Equal(new CorpusSplits("a\n\n", "b\n  \n", "c\n\n"), splits);
    }

    [Theory]
    [InlineData("")]
    [InlineData("one\n\n   \ntwo\n")]
    public void Split_FewerThanThreeNonBlankLines_ThrowsNamingText(string text)
    {
        Assert.Equal("text", Assert.Throws<CorpusException>(() => CorpusReader.SplitDeterministically(text)).Field);
    }

    [Fact]
    public void Split_BadFractions_AreRejected()
    {
        Assert.Equal("validFraction", Assert.Throws<InvalidSettingException>(() => CorpusReader.SplitDeterministically("a\nb\nc", 0)).Field);
        Assert.Equal("testFraction", Assert.Throws<InvalidSettingException>(() => CorpusReader.SplitDeterministically("a\nb\nc", 0.1, 1.5)).Field);
        Assert.Throws<InvalidSettingException>(() => CorpusReader.SplitDeterministically("a\nb\nc", 0.6, 0.5));
    }

    private static string LinesOf(int start, int count) => string.Concat(Enumerable.Range(start, count).Select(i => $"line {i}\n"));

    private static int Count(string split) => split.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
}
