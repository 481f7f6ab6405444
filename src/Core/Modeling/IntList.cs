using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RnnLmService.Core.Modeling;

/// <summary>
/// An immutable list of integers that compares by value, so an options record holding one keeps value equality
/// (a resumed run compares its spec with the checkpoint's). Read and written as a JSON array.
/// </summary>
[JsonConverter(typeof(IntListJsonConverter))]
public sealed class IntList(IEnumerable<int> values) : IReadOnlyList<int>, IEquatable<IntList>
{
    private readonly int[] items = [.. values];

    /// <inheritdoc />
    public int this[int index] => items[index];
    /// <inheritdoc />
    public int Count => items.Length;
    /// <inheritdoc />
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => items.GetEnumerator();
    /// <inheritdoc />
    public bool Equals(IntList? other) => other is not null && items.AsSpan().SequenceEqual(other.items);
    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as IntList);
    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var i in items) hash.Add(i);
        return hash.ToHashCode();
    }
    /// <inheritdoc />
    public override string ToString() => $"[{string.Join(", ", items)}]";

    /// <summary>A list of the given values.</summary>
    public static implicit operator IntList(int[] values) => new(values);
}

/// <summary>JSON array of numbers ↔ <see cref="IntList"/>.</summary>
public sealed class IntListJsonConverter : JsonConverter<IntList>
{
    /// <inheritdoc />
    public override IntList Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(JsonSerializer.Deserialize<int[]>(ref reader, options) ?? []);

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, IntList value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var i in value) writer.WriteNumberValue(i);
        writer.WriteEndArray();
    }
}
