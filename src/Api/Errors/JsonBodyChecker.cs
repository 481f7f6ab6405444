using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace RnnLmService.Api.Errors;

/// <summary>
/// Checks a JSON body against the type it will be read as, before the serializer sees it, and words every mismatch
/// for a person: unknown fields by their full path with the closest known name (names match exactly, as they are
/// written), and values of the wrong type with the type and range expected. All mismatches are reported, not the first.
/// Values read by a custom converter (e.g. a string-or-list) and <see cref="JsonElement"/> fields are left to their reader.
/// </summary>
internal static class JsonBodyChecker
{
    private const int MaxErrors = 50;

    /// <summary>Each mismatch as (full path, reason); empty when the body reads as <paramref name="type"/>.</summary>
    public static IReadOnlyList<(string Field, string Message)> Check(JsonNode? body, Type type, JsonSerializerOptions options) =>
        CheckAndDrop(body, type, options, drop: false);

    /// <summary>
    /// As <see cref="Check"/>; with <paramref name="drop"/>, also removes each field at fault from the body (the whole
    /// field an element of which is at fault), so that the rest can be read and checked further.
    /// </summary>
    public static IReadOnlyList<(string Field, string Message)> CheckAndDrop(JsonNode? body, Type type, JsonSerializerOptions options, bool drop)
    {
        if (!options.IsReadOnly) options.MakeReadOnly(populateMissingResolver: true); // as the serializer does on first use
        var errors = new List<(string, string)>();
        var faulty = new List<(JsonObject Owner, string Name)>();
        if (body is not JsonObject)
        {
            errors.Add(("body", $"The body must be a JSON object (was {Describe(body)})."));
            return errors;
        }
        Visit(body, type, "", options, errors, (JsonObject)body, faulty);
        if (drop)
            foreach (var (owner, name) in faulty) owner.Remove(name);
        return errors;
    }

    // owner/name: the object property that holds this value (for an array element, the array's own property).
    private static void Visit(JsonNode? node, Type type, string path, JsonSerializerOptions options, List<(string, string)> errors,
        JsonObject owner, List<(JsonObject, string)> faulty, string? name = null)
    {
        if (errors.Count >= MaxErrors) return;
        var underlying = Nullable.GetUnderlyingType(type);
        if (node is null)
        {
            if (type.IsValueType && underlying is null)
            {
                errors.Add((path, $"{path} must be {Expected(type, options)}, not null."));
                if (name is not null) faulty.Add((owner, name));
            }
            return;
        }
        type = underlying ?? type;
        if (type == typeof(JsonElement) || type == typeof(JsonNode) || type == typeof(object)) return;

        var info = options.GetTypeInfo(type);
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when node is JsonObject obj:
                VisitObject(obj, info, path, options, errors, faulty);
                return;
            case JsonTypeInfoKind.Enumerable when node is JsonArray array:
                for (var i = 0; i < array.Count; i++) Visit(array[i], info.ElementType!, $"{path}[{i}]", options, errors, owner, faulty, name);
                return;
            case JsonTypeInfoKind.Dictionary when node is JsonObject map:
                foreach (var (key, value) in map) Visit(value, info.ElementType!, Join(path, key), options, errors, map, faulty, key);
                return;
            case JsonTypeInfoKind.None when IsCustom(info.Converter, type):
                return;
        }
        if (info.Kind != JsonTypeInfoKind.None || !Fits(node, type, options))
        {
            errors.Add((path, $"{path} must be {Expected(type, options)} (was {Describe(node)})."));
            if (name is not null) faulty.Add((owner, name));
        }
    }

    private static void VisitObject(JsonObject obj, JsonTypeInfo info, string path, JsonSerializerOptions options, List<(string, string)> errors,
        List<(JsonObject, string)> faulty)
    {
        var known = info.Properties.Where(p => !p.IsExtensionData).ToDictionary(p => p.Name, StringComparer.Ordinal);
        var tolerant = info.Properties.Any(p => p.IsExtensionData)
            || !Strict(info.Type) && (info.UnmappedMemberHandling ?? options.UnmappedMemberHandling) == JsonUnmappedMemberHandling.Skip;
        foreach (var (name, value) in obj)
        {
            var field = Join(path, name);
            if (!known.TryGetValue(name, out var property))
            {
                if (tolerant) continue;
                var suggestion = Closest(name, known.Keys);
                errors.Add((field, suggestion is null
                    ? $"{field} is not a known field; the fields here are {string.Join(", ", known.Keys.Select(k => Join(path, k)))}."
                    : $"{field} is not a known field; did you mean {Join(path, suggestion)}? (Field names are case-sensitive.)"));
                faulty.Add((obj, name));
                continue;
            }
            if (property.CustomConverter is not null) continue;
            Visit(value, property.PropertyType, field, options, errors, obj, faulty, name);
        }
    }

    /// <summary>The API's own request types refuse unknown fields; a type of another library keeps its serializer's setting.</summary>
    private static bool Strict(Type type) => type.Namespace?.StartsWith("RnnLmService", StringComparison.Ordinal) == true;

    private static bool IsCustom(JsonConverter converter, Type type) =>
        !type.IsPrimitive && !type.IsEnum && type != typeof(string) && type != typeof(decimal) && type != typeof(DateTime)
        && converter.GetType().Assembly != typeof(JsonSerializer).Assembly;

    private static bool Fits(JsonNode node, Type type, JsonSerializerOptions options)
    {
        var kind = node.GetValueKind();
        if (type == typeof(string)) return kind == JsonValueKind.String;
        if (type == typeof(bool)) return kind is JsonValueKind.True or JsonValueKind.False;
        if (type.IsEnum) return kind == JsonValueKind.String ? EnumNames(type, options) is { } names && names.Contains(node.GetValue<string>(), StringComparer.OrdinalIgnoreCase) : kind == JsonValueKind.Number && EnumNames(type, options) is null;
        if (!IsNumber(type)) return kind == JsonValueKind.String; // DateTime, TimeSpan, Guid, ...: a string their reader parses
        if (kind != JsonValueKind.Number) return false;
        var element = node.GetValue<JsonElement>();
        return Type.GetTypeCode(type) switch
        {
            TypeCode.Int32 => element.TryGetInt32(out _),
            TypeCode.Int64 => element.TryGetInt64(out _),
            TypeCode.Int16 => element.TryGetInt16(out _),
            TypeCode.Byte => element.TryGetByte(out _),
            TypeCode.UInt32 => element.TryGetUInt32(out _),
            TypeCode.UInt64 => element.TryGetUInt64(out _),
            TypeCode.Double => element.TryGetDouble(out var d) && double.IsFinite(d),
            TypeCode.Single => element.TryGetSingle(out var f) && float.IsFinite(f),
            TypeCode.Decimal => element.TryGetDecimal(out _),
            _ => true,
        };
    }

    private static bool IsNumber(Type type) => Type.GetTypeCode(type) is >= TypeCode.SByte and <= TypeCode.Decimal;

    /// <summary>What a field of <paramref name="type"/> takes, with its range.</summary>
    internal static string Expected(Type type, JsonSerializerOptions options)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum)
            return EnumNames(type, options) is { } names ? $"one of {string.Join(", ", names.Select(n => $"\"{n}\""))}" : "an integer";
        return Type.GetTypeCode(type) switch
        {
            TypeCode.String => "a string",
            TypeCode.Boolean => "true or false",
            TypeCode.Int32 => $"a whole number from {int.MinValue} to {int.MaxValue}",
            TypeCode.Int64 => $"a whole number from {long.MinValue} to {long.MaxValue}",
            TypeCode.Int16 => $"a whole number from {short.MinValue} to {short.MaxValue}",
            TypeCode.Byte => "a whole number from 0 to 255",
            TypeCode.UInt32 => $"a whole number from 0 to {uint.MaxValue}",
            TypeCode.UInt64 => $"a whole number from 0 to {ulong.MaxValue}",
            TypeCode.Double or TypeCode.Single or TypeCode.Decimal => "a finite number",
            TypeCode.DateTime => "a date and time (ISO 8601 string)",
            _ when type.IsAssignableTo(typeof(System.Collections.IEnumerable)) => "an array",
            _ when options.GetTypeInfo(type).Kind == JsonTypeInfoKind.None => $"a string ({type.Name})",
            _ => "an object",
        };
    }

    /// <summary>The names an enum is written as, or null when it is read as a number.</summary>
    private static string[]? EnumNames(Type type, JsonSerializerOptions options)
    {
        var policy = options.Converters.OfType<JsonStringEnumConverter>().Any() ? JsonNamingPolicy.CamelCase : null;
        if (policy is null && type.GetCustomAttributes(typeof(JsonConverterAttribute), false).Length == 0) return null;
        return Enum.GetNames(type).Select(n => JsonNamingPolicy.CamelCase.ConvertName(n)).ToArray();
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Describe(JsonNode? node)
    {
        if (node is null) return "null";
        var kind = node.GetValueKind();
        var text = node.ToJsonString();
        var shown = text.Length <= 40 ? text : text[..37] + "...";
        return kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => $"the string {shown}",
            _ => shown,
        };
    }

    /// <summary>The known name closest to <paramref name="name"/>: same letters in another case, else within a few edits.</summary>
    internal static string? Closest(string name, IEnumerable<string> known)
    {
        var names = known.ToList();
        if (names.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) is { } sameLetters) return sameLetters;
        var normalized = Normalize(name);
        if (names.FirstOrDefault(k => Normalize(k) == normalized) is { } sameWords) return sameWords;
        var best = names.Select(k => (Name: k, Distance: Distance(name.ToLowerInvariant(), k.ToLowerInvariant()))).OrderBy(c => c.Distance).FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(2, name.Length / 3) ? best.Name : null;

        static string Normalize(string s) => new string(s.Where(char.IsLetterOrDigit).ToArray()).ToLower(CultureInfo.InvariantCulture);
    }

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }
}
