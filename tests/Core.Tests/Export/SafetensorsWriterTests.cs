using System.Buffers.Binary;
using System.Text.Json;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Core.Tests.Export;

public sealed class SafetensorsWriterTests
{
    [Fact]
    public async Task The_file_is_length_header_padding_and_the_raw_little_endian_tensors_in_order()
    {
        NamedTensor[] tensors =
        [
            new("a.weight", [2, 3], [1, 2, 3, 4, 5, 6]),
            new("b.bias", [3], [-1.5f, 0.25f, float.MaxValue]),
        ];
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "odd \"quoted\" text ü" };
        using var buffer = new MemoryStream();
        await SafetensorsWriter.WriteAsync(buffer, tensors, metadata);
        var file = buffer.ToArray();

        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, (8 + n) % 8);                                     // data starts 8-byte aligned
        var header = file.AsSpan(8, n);
        Assert.Equal((byte)'{', header[0]);
        var json = System.Text.Encoding.UTF8.GetString(header);
        Assert.True(json.TrimEnd(' ').EndsWith('}') && json[json.TrimEnd(' ').Length..].All(c => c == ' '));   // padded with spaces only
        using var doc = JsonDocument.Parse(json);                         // trailing spaces are valid JSON whitespace
        var root = doc.RootElement;
        Assert.Equal("odd \"quoted\" text ü", root.GetProperty("__metadata__").GetProperty("note").GetString());
        var a = root.GetProperty("a.weight");
        Assert.Equal("F32", a.GetProperty("dtype").GetString());
        Assert.Equal([2L, 3L], a.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal([0L, 24L], a.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal([24L, 36L], root.GetProperty("b.bias").GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()));

        var data = file.AsSpan(8 + n);
        Assert.Equal(36, data.Length);                                     // the buffer is exactly the tensors, no gap
        Assert.Equal(4f, BinaryPrimitives.ReadSingleLittleEndian(data[12..]));
        Assert.Equal(float.MaxValue, BinaryPrimitives.ReadSingleLittleEndian(data[32..]));
    }

    [Fact]
    public void Duplicate_names_and_values_that_do_not_fill_the_shape_are_refused()
    {
        var empty = new Dictionary<string, string>();
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Header([new("x", [1], [1]), new("x", [1], [2])], empty));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Header([new("x", [2, 2], [1, 2, 3])], empty));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Header([new("__metadata__", [1], [1])], empty));
    }
}

public sealed class ModelArchiveNameTests
{
    [Theory]
    [InlineData("model.json")]
    [InlineData("weights.bin")]
    [InlineData("tokenizer/merges.txt")]
    [InlineData("a_b-c.1")]
    public void Relative_plain_names_are_allowed(string name) => Assert.Null(ModelArchive.MemberNameProblem(name));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("/etc/x", "absolute")]
    [InlineData("\\\\server\\x", "absolute")]
    [InlineData("C:x", "absolute")]
    [InlineData("../x", "'..'")]
    [InlineData("a/../../x", "'..'")]
    [InlineData("a\\..\\x", "backslash")]
    [InlineData(".hidden", "not an allowed file name")]
    [InlineData("a//b", "not an allowed file name")]
    [InlineData("./x", "not an allowed file name")]
    [InlineData("a/b/c/d/e", "nested")]
    [InlineData("x y", "not an allowed file name")]
    public void Paths_that_could_leave_or_hide_in_the_directory_are_refused(string name, string reason) =>
        Assert.Contains(reason, ModelArchive.MemberNameProblem(name));
}
