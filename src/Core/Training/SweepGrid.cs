using System.Text.Json;
using System.Text.Json.Nodes;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Core.Training;

/// <summary>One point of a grid: its 0-based index and a value per field path, in the grid's field order.</summary>
/// <param name="Index">Position in the expansion (the first field varies slowest).</param>
/// <param name="Values">Field path → value.</param>
public sealed record SweepPoint(int Index, IReadOnlyList<KeyValuePair<string, JsonNode?>> Values)
{
    /// <summary>The values as one JSON object, path → value.</summary>
    public JsonObject ToJson() => new(Values.Select(v => KeyValuePair.Create(v.Key, v.Value?.DeepClone())));

    /// <summary><c>model.hiddenSize=64, training.bptt=35</c>, for messages.</summary>
    public override string ToString() => string.Join(", ", Values.Select(v => $"{v.Key}={v.Value?.ToJsonString() ?? "null"}"));

    /// <summary>
    /// The job fields of this point: <paramref name="job"/> (a training job's JSON) with each value set at its path, over
    /// whatever the job had there (names matched case-insensitively, as job JSON is read). Returns a new object.
    /// </summary>
    public JsonObject ApplyTo(JsonObject job)
    {
        var merged = (JsonObject)job.DeepClone();
        foreach (var (path, value) in Values)
        {
            var dot = path.IndexOf('.');
            if (dot < 0)
            {
                Set(merged, path, value);
                continue;
            }
            if (JobSections.Section(merged, path[..dot]) is { } target) Set(target, path[(dot + 1)..], value);
        }
        return merged;

        static void Set(JsonObject o, string name, JsonNode? value)
        {
            if (JobSections.Key(o, name) is { } existing) o.Remove(existing);
            o[name] = value?.DeepClone();
        }
    }
}

/// <summary>
/// A sweep's grid: job field paths (<c>tokenizer.maxVocabularySize</c>, <c>training.bptt</c>, <c>model.hiddenSize</c>,
/// <c>preset</c>, ...) each with a list of values; its points are every combination. Built by <see cref="Parse"/>, which
/// refuses unknown paths, empty or repeated values and more points than allowed, naming the field.
/// </summary>
public sealed class SweepGrid
{
    private const long Saturated = 1_000_000_000_000;

    private SweepGrid(IReadOnlyList<string> fields, IReadOnlyList<IReadOnlyList<JsonNode?>> values, int count)
    {
        Fields = fields;
        Values = values;
        Count = count;
    }

    /// <summary>Every path a grid may vary: <c>preset</c>, <c>init</c> and each setting of <c>tokenizer</c>, <c>model</c> and <c>training</c>.</summary>
    public static IReadOnlyList<string> KnownFields { get; } = FindKnownFields();

    /// <summary>The grid's field paths, as spelled in <see cref="KnownFields"/>, in the order sent.</summary>
    public IReadOnlyList<string> Fields { get; }

    /// <summary>The values of each field.</summary>
    public IReadOnlyList<IReadOnlyList<JsonNode?>> Values { get; }

    /// <summary>How many points: the product of the value counts.</summary>
    public int Count { get; }

    /// <summary>
    /// Reads a grid object (field path → array of values). <see cref="InvalidSettingException"/> naming <c>grid</c> or
    /// <c>grid.{path}</c>: not an object, no fields, an unknown or repeated path, a value list that is not a non-empty
    /// array of distinct plain values, or more than <paramref name="maxPoints"/> points.
    /// </summary>
    public static SweepGrid Parse(JsonNode? grid, int maxPoints)
    {
        if (grid is not JsonObject fields)
            throw new InvalidSettingException("grid", "grid must be an object of job field paths to value lists, e.g. {\"training.bptt\": [35, 70]}.");
        InvalidSettingException.Check(fields.Count > 0, "grid", "grid has no fields: give at least one field path with its values.");
        var names = new List<string>();
        var values = new List<IReadOnlyList<JsonNode?>>();
        long count = 1;
        foreach (var (path, list) in fields)
        {
            var field = $"grid.{path}";
            var known = KnownFields.FirstOrDefault(k => string.Equals(k, path, StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidSettingException(field,
                    $"'{path}' is not a job field a sweep can vary: use preset, init or tokenizer.*, model.*, training.* settings such as tokenizer.maxVocabularySize, training.bptt, model.embeddingSize, model.hiddenSize, model.dropout.");
            InvalidSettingException.Check(!names.Contains(known), field, $"'{known}' appears twice in the grid.");
            if (list is not JsonArray array || array.Count == 0)
                throw new InvalidSettingException(field, $"grid.{known} must be a non-empty array of values.");
            var distinct = new List<JsonNode?>();
            foreach (var value in array)
            {
                InvalidSettingException.Check(value is null or JsonValue, field, $"grid.{known} holds {value!.ToJsonString()}: values must be numbers, strings, booleans or null.");
                InvalidSettingException.Check(!distinct.Any(d => JsonNode.DeepEquals(d, value)), field,
                    $"grid.{known} lists {value?.ToJsonString() ?? "null"} twice: each value makes its own point.");
                distinct.Add(value?.DeepClone());
            }
            names.Add(known);
            values.Add(distinct);
            count = Math.Min(count * distinct.Count, Saturated);
        }
        InvalidSettingException.Check(count <= maxPoints, "grid",
            $"The grid has {(count == Saturated ? "over a trillion" : count.ToString(System.Globalization.CultureInfo.InvariantCulture))} points "
            + $"({string.Join(" × ", values.Select(v => v.Count))}), more than the {maxPoints} a sweep may have (RnnLm:Limits:MaxSweepPoints).");
        return new SweepGrid(names, values, (int)count);
    }

    /// <summary>Every point, the first field varying slowest (as nested loops in the grid's order).</summary>
    public IReadOnlyList<SweepPoint> Points()
    {
        var points = new List<SweepPoint>(Count);
        for (var index = 0; index < Count; index++)
        {
            var chosen = new KeyValuePair<string, JsonNode?>[Fields.Count];
            var rest = index;
            for (var f = Fields.Count - 1; f >= 0; f--)
            {
                chosen[f] = KeyValuePair.Create(Fields[f], Values[f][rest % Values[f].Count]);
                rest /= Values[f].Count;
            }
            points.Add(new SweepPoint(index, chosen));
        }
        return points;
    }

    /// <summary>The grid as JSON, path → values, in its order.</summary>
    public JsonObject ToJson() =>
        new(Fields.Select((f, i) => KeyValuePair.Create(f, (JsonNode?)new JsonArray(Values[i].Select(v => v?.DeepClone()).ToArray()))));

    /// <summary>
    /// The grid path a validation error's field refers to (the path whose last segment is <paramref name="settingField"/>),
    /// or null when the error is about a field the grid does not vary.
    /// </summary>
    public string? PathOf(string settingField) =>
        Fields.FirstOrDefault(f => string.Equals(f[(f.LastIndexOf('.') + 1)..], settingField, StringComparison.OrdinalIgnoreCase));

    private static List<string> FindKnownFields()
    {
        // The names exactly as job JSON spells them: the serialized default spec's sections and settings.
        var spec = JsonSerializer.SerializeToNode(new TrainingSpec(), JobSpecJson.Options)!.AsObject();
        var known = new List<string> { "preset" };
        foreach (var (section, settings) in spec)
        {
            if (settings is JsonObject fields) known.AddRange(fields.Select(s => $"{section}.{s.Key}"));
            else known.Add(section);   // a top-level field such as init (a warm start's parent)
        }
        return known;
    }
}
