using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RnnLmService.Api.Tests.Fuzz;

/// <summary>One request of the fuzz test; <see cref="Body"/> is null for none.</summary>
internal sealed record FuzzCase(Operation Operation, string Url, string What, byte[]? Body, string? ContentType);

/// <summary>One operation of the OpenAPI document.</summary>
internal sealed record Operation(string Method, string Path, JsonElement Spec)
{
    public override string ToString() => $"{Method} {Path}";

    /// <summary>The statuses the document lists for it.</summary>
    public IEnumerable<int> DocumentedStatuses => Spec.GetProperty("responses").EnumerateObject().Select(r => int.TryParse(r.Name, out var s) ? s : 0);
}

/// <summary>
/// Generates the hostile requests for every operation of an OpenAPI document: bad route values, bad query values, and
/// for operations with a body, hostile whole bodies, a valid body built from the schema's examples with each field in
/// turn replaced by each hostile value, hostile forms or archives, and seeded random byte mutations of the valid body.
/// </summary>
internal sealed class OpenApiCases(JsonElement document, Func<string, string, string> validRouteValue, Func<string, JsonNode?, JsonNode?> overrideField, int seed)
{
    private const string Placeholder = "__fuzz_placeholder__";
    private readonly JsonElement schemas = document.GetProperty("components").GetProperty("schemas");

    /// <summary>Every operation in document order.</summary>
    public IEnumerable<Operation> Operations() =>
        from path in document.GetProperty("paths").EnumerateObject()
        from op in path.Value.EnumerateObject()
        where op.Name is "get" or "post" or "put" or "patch" or "delete"
        select new Operation(op.Name.ToUpperInvariant(), path.Name, op.Value);

    public IEnumerable<FuzzCase> For(Operation op)
    {
        var parameters = op.Spec.TryGetProperty("parameters", out var p) ? p.EnumerateArray().ToList() : [];
        var routeNames = parameters.Where(x => x.GetProperty("in").GetString() == "path").Select(x => x.GetProperty("name").GetString()!).ToList();
        var queryNames = parameters.Where(x => x.GetProperty("in").GetString() == "query").Select(x => x.GetProperty("name").GetString()!).ToList();
        string Url(string? hostileRoute = null, string? hostileValue = null) =>
            Regex.Replace(op.Path, "{([^}]+)}", m => m.Groups[1].Value == hostileRoute ? hostileValue! : Uri.EscapeDataString(validRouteValue(op.Path, m.Groups[1].Value)));

        var content = op.Spec.TryGetProperty("requestBody", out var body) ? body.GetProperty("content") : default;
        var (validBody, validType) = ValidBody(op, content);

        foreach (var name in routeNames)
            foreach (var (what, raw) in HostileValues.Route())
                yield return new(op, Url(name, raw), $"route {name} = {what}", validBody, validType);
        foreach (var name in queryNames)
            foreach (var (what, raw) in HostileValues.Query())
                yield return new(op, $"{Url()}?{name}={raw.Replace("{name}", name)}", $"query {name} = {what}", validBody, validType);

        if (content.ValueKind != JsonValueKind.Object)
        {
            // No body declared: one is sent anyway, and must be ignored or refused.
            yield return new(op, Url(), "an undeclared JSON body", "{\"a\":[1,2]}"u8.ToArray(), "application/json");
            yield return new(op, Url(), "an undeclared 10 MB body", new byte[HostileValues.TenMegabytes], "application/octet-stream");
            yield break;
        }
        var url = Url();
        if (validBody is not null) yield return new(op, url, "the valid body", validBody, validType);
        foreach (var (what, bytes, type) in HostileValues.Bodies())
            yield return new(op, url, $"body: {what}", bytes, type);

        if (content.TryGetProperty("application/json", out var json))
            foreach (var c in JsonCases(op, url, json)) yield return c;
        if (content.TryGetProperty("multipart/form-data", out var form))
        {
            var properties = Resolve(form.GetProperty("schema")).GetProperty("properties").EnumerateObject().ToList();
            var files = properties.Where(x => x.Value.TryGetProperty("format", out var f) && f.GetString() == "binary").Select(x => x.Name).ToList();
            var fields = properties.Select(x => x.Name).Except(files).ToList();
            foreach (var (what, bytes, type) in HostileUploads.Forms(files, fields))
                yield return new(op, url, $"form: {what}", bytes, type);
        }
        foreach (var binary in content.EnumerateObject().Where(c => c.Value.TryGetProperty("schema", out var s) && IsBinary(s)))
            foreach (var (what, bytes) in HostileUploads.Archives())
                yield return new(op, url, $"{binary.Name}: {what}", bytes, binary.Name);
    }

    private IEnumerable<FuzzCase> JsonCases(Operation op, string url, JsonElement json)
    {
        var valid = ValidJson(json);
        var bigSent = false;
        foreach (var path in FieldPaths(json.GetProperty("schema"), [], depth: 0))
        {
            // Top-level fields get every hostile value; nested ones (the job spec's options) the type-confusion subset.
            foreach (var (what, fragment) in path.Count <= 1 ? HostileValues.Fields() : HostileValues.Fields().Where(f => HostileValues.ForNestedFields.Contains(f.Name)))
            {
                if (fragment.Length >= HostileValues.TenMegabytes && bigSent) continue; // once per operation is enough
                bigSent |= fragment.Length >= HostileValues.TenMegabytes;
                yield return new(op, url, $"{string.Join('.', path)} = {what}", Splice(valid, path, fragment), "application/json");
            }
            if (path.Count > 0 && Get(valid, path[..^1]) is JsonObject)
            {
                var unknown = path[..^1].Append("notAField").ToList();
                yield return new(op, url, $"{string.Join('.', unknown)} (unknown)", Splice(valid, unknown, "1"u8.ToArray()), "application/json");
            }
        }
        // Seeded byte-level mutations of the valid body: flips, insertions of structural bytes, truncations.
        var bytes = Encoding.UTF8.GetBytes(valid.ToJsonString());
        var random = new Random(seed ^ StableHash(op.ToString()));
        byte[] structural = "{}[]\":,\\0-eE.\u0000"u8.ToArray();
        for (var i = 0; i < 30; i++)
        {
            var mutated = bytes.ToList();
            for (var k = random.Next(1, 4); k > 0 && mutated.Count > 0; k--)
            {
                var at = random.Next(mutated.Count);
                switch (random.Next(4))
                {
                    case 0: mutated[at] = (byte)random.Next(256); break;
                    case 1: mutated.Insert(at, structural[random.Next(structural.Length)]); break;
                    case 2: mutated.RemoveAt(at); break;
                    default: mutated.RemoveRange(at, mutated.Count - at); break;
                }
            }
            yield return new(op, url, $"random mutation {i} (seed {seed})", mutated.ToArray(), "application/json");
        }
    }

    private (byte[]?, string?) ValidBody(Operation op, JsonElement content)
    {
        if (content.ValueKind != JsonValueKind.Object) return (null, null);
        if (content.TryGetProperty("application/json", out var json)) return (Encoding.UTF8.GetBytes(ValidJson(json).ToJsonString()), "application/json");
        return (null, null);
    }

    /// <summary>A valid body: the media type's example, else one built from the schema's property examples; then the overrides.</summary>
    private JsonNode ValidJson(JsonElement media)
    {
        var node = media.TryGetProperty("example", out var example) ? JsonNode.Parse(example.GetRawText())! : Build(media.GetProperty("schema")) ?? new JsonObject();
        Override(node);
        return node;
    }

    private void Override(JsonNode node)
    {
        if (node is not JsonObject obj) return;
        foreach (var name in obj.Select(p => p.Key).ToList())
        {
            obj[name] = overrideField(name, obj[name]?.DeepClone());
            if (obj[name] is { } child) Override(child);
        }
    }

    private JsonNode? Build(JsonElement schema)
    {
        if (schema.TryGetProperty("example", out var example)) return JsonNode.Parse(example.GetRawText());
        var resolved = Resolve(schema);
        if (!resolved.TryGetProperty("properties", out var properties)) return null;
        var obj = new JsonObject();
        foreach (var property in properties.EnumerateObject())
            if (Build(property.Value) is { } value) obj[property.Name] = value;
        return obj;
    }

    /// <summary>Every field path of a body schema (the body itself first), descending into object-valued fields.</summary>
    private IEnumerable<List<string>> FieldPaths(JsonElement schema, List<string> prefix, int depth)
    {
        if (depth == 0) yield return [];
        var resolved = Resolve(schema);
        if (depth > 3 || !resolved.TryGetProperty("properties", out var properties)) yield break;
        foreach (var property in properties.EnumerateObject())
        {
            var path = prefix.Append(property.Name).ToList();
            yield return path;
            foreach (var nested in FieldPaths(property.Value, path, depth + 1).Where(p => p.Count > path.Count))
                yield return nested;
        }
    }

    private JsonElement Resolve(JsonElement schema)
    {
        if (schema.TryGetProperty("$ref", out var reference)) return Resolve(schemas.GetProperty(reference.GetString()!.Split('/')[^1]));
        foreach (var combinator in new[] { "allOf", "oneOf", "anyOf" })
            if (schema.TryGetProperty(combinator, out var all))
            {
                var parts = all.EnumerateArray().ToList();
                return Resolve(parts.FirstOrDefault(e => e.TryGetProperty("$ref", out _), parts[0]));
            }
        return schema;
    }

    private static bool IsBinary(JsonElement schema) => schema.TryGetProperty("format", out var f) && f.GetString() == "binary";

    private static JsonNode? Get(JsonNode? node, IEnumerable<string> path) => path.Aggregate(node, (n, name) => n is JsonObject o ? o[name] : null);

    /// <summary>The valid body with the value at <paramref name="path"/> replaced by raw bytes (which need not be JSON).</summary>
    private static byte[] Splice(JsonNode valid, List<string> path, byte[] fragment)
    {
        if (path.Count == 0) return fragment;
        var copy = valid.DeepClone();
        var parent = copy;
        foreach (var name in path[..^1])
        {
            if (parent[name] is not JsonObject child) parent[name] = child = new JsonObject();
            parent = child;
        }
        parent[path[^1]] = Placeholder;
        var text = Encoding.UTF8.GetBytes(copy.ToJsonString());
        var marker = Encoding.UTF8.GetBytes($"\"{Placeholder}\"");
        var at = text.AsSpan().IndexOf(marker);
        return [.. text[..at], .. fragment, .. text[(at + marker.Length)..]];
    }

    private static int StableHash(string s) => s.Aggregate(unchecked((int)2166136261), (h, c) => unchecked((h ^ c) * 16777619));
}
