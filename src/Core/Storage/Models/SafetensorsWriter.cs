using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace RnnLmService.Core.Storage.Models;

/// <summary>One float32 tensor of a state dict: its name, shape (outermost first) and row-major values.</summary>
public sealed record NamedTensor(string Name, long[] Shape, float[] Values);

/// <summary>
/// Writes the safetensors format (Hugging Face's; no library needed): an unsigned 64-bit little-endian header length N,
/// N bytes of UTF-8 JSON — <c>{"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}}</c>
/// with offsets relative to the data that follows, padded with spaces so the data starts 8-byte aligned — then the raw
/// little-endian tensor bytes, in header order, without gaps.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>The file's media type.</summary>
    public const string MediaType = "application/octet-stream";

    /// <summary>Writes <paramref name="tensors"/> (names unique) with <paramref name="metadata"/> to <paramref name="output"/>.</summary>
    public static async Task WriteAsync(Stream output, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata, CancellationToken ct = default)
    {
        var header = Header(tensors, metadata);
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        await output.WriteAsync(length, ct);
        await output.WriteAsync(header, ct);
        foreach (var tensor in tensors)
            await output.WriteAsync(LittleEndianBytes(tensor.Values), ct);
    }

    /// <summary>The JSON header, padded with spaces to a multiple of 8 bytes (8 + N is then aligned too).</summary>
    public static byte[] Header(IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (key, value) in metadata) json.WriteString(key, value);
            json.WriteEndObject();
            long offset = 0;
            var names = new HashSet<string>(StringComparer.Ordinal) { "__metadata__" };
            foreach (var tensor in tensors)
            {
                if (!names.Add(tensor.Name)) throw new ArgumentException($"tensor name '{tensor.Name}' appears twice", nameof(tensors));
                if (tensor.Shape.Aggregate(1L, (a, d) => a * d) != tensor.Values.Length)
                    throw new ArgumentException($"tensor '{tensor.Name}' has {tensor.Values.Length} values for shape [{string.Join(", ", tensor.Shape)}]", nameof(tensors));
                var bytes = (long)tensor.Values.Length * sizeof(float);
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var padding = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static byte[] LittleEndianBytes(float[] values)
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
            for (var i = 0; i < bytes.Length; i += sizeof(float)) bytes.AsSpan(i, sizeof(float)).Reverse();
        return bytes;
    }
}
