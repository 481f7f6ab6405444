using System.Globalization;

namespace RnnLmService.Bench;

/// <summary>The <c>key=value</c> arguments after a command's positional ones; unknown keys are an error.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public Args(IEnumerable<string> pairs)
    {
        foreach (var pair in pairs)
        {
            var parts = pair.Split('=', 2);
            if (parts.Length != 2) throw new ArgumentException($"expected key=value, got '{pair}'");
            _values[parts[0]] = parts[1];
        }
    }

    public string Get(string key, string fallback)
    {
        _read.Add(key);
        return _values.TryGetValue(key, out var v) ? v : fallback;
    }

    public int Int(string key, int fallback) => int.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
    public long Long(string key, long fallback) => long.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
    public double Double(string key, double fallback) => double.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
    public bool Bool(string key, bool fallback) => bool.Parse(Get(key, fallback ? "true" : "false"));

    /// <summary>Throws when a key was given that no command read (a typo would otherwise be silently ignored).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"unknown key(s): {string.Join(", ", unknown)}");
    }
}
