using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using RnnLmService.Core;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Endpoints;

/// <summary>Checks shared by the inference endpoints; each failure names the field (400).</summary>
internal static partial class RequestChecks
{
    /// <summary>A required, non-blank text of at most <paramref name="maxCharacters"/> characters.</summary>
    public static string Text(string? value, string field, int maxCharacters)
    {
        // One reason per field, also when SettingErrors collects them.
        if (value is null) InvalidSettingException.Check(false, field, $"{field} is required.");
        else if (string.IsNullOrWhiteSpace(value)) InvalidSettingException.Check(false, field, $"{field} must not be empty.");
        else InvalidSettingException.Check(value.Length <= maxCharacters, field,
            $"{field} has {value.Length} characters; the limit is {maxCharacters} (RnnLm:Serving:MaxPromptCharacters).");
        return value ?? "";
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static void Range(int value, int min, int max, string field, string? limitName = null) =>
        InvalidSettingException.Check(value >= min && value <= max, field,
            $"{field} must be between {min} and {max}{(limitName is null ? "" : $" ({limitName})")} (was {value}).");

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static void Range(double value, double min, double max, string field) =>
        InvalidSettingException.Check(double.IsFinite(value) && value >= min && value <= max, field,
            $"{field} must be between {min} and {max} (was {value}).");

    /// <summary>topP in (0, 1].</summary>
    public static void TopP(double value, string field) =>
        InvalidSettingException.Check(double.IsFinite(value) && value > 0 && value <= 1, field, $"{field} must be above 0 and at most 1 (was {value}).");

    /// <summary>Stop strings: at most <paramref name="max"/>, each non-empty.</summary>
    public static IReadOnlyList<string> Stop(IReadOnlyList<string>? stop, int max, string field)
    {
        stop ??= [];
        InvalidSettingException.Check(stop.Count <= max, field, $"{field} takes at most {max} strings (got {stop.Count}).");
        InvalidSettingException.Check(stop.All(s => !string.IsNullOrEmpty(s) && s.Length <= GenerationOptions.MaxStopLength), field,
            $"each {field} string must be 1 to {GenerationOptions.MaxStopLength} characters.");
        return stop;
    }

    /// <summary>
    /// A keep-alive as Ollama's <c>keep_alive</c>: a number of seconds, or a duration string of number-unit pairs
    /// (<c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>; e.g. <c>"1h30m"</c>, <c>"-1m"</c>); negative means until unloaded. Null when absent.
    /// </summary>
    public static TimeSpan? KeepAlive(JsonElement? value, string field = "keepAlive")
    {
        if (value is not { } v || v.ValueKind == JsonValueKind.Null) return null;
        double seconds;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var number)) seconds = number;
        else if (v.ValueKind == JsonValueKind.String) seconds = ParseDuration(v.GetString()!, field);
        else throw new InvalidSettingException(field, $"{field} must be a number of seconds or a duration such as \"10m\".");
        InvalidSettingException.Check(double.IsFinite(seconds) && Math.Abs(seconds) <= TimeSpan.MaxValue.TotalSeconds / 2, field, $"{field} is out of range.");
        return seconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);
    }

    private static double ParseDuration(string text, string field)
    {
        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain)) return plain;
        var match = Duration().Match(text);
        InvalidSettingException.Check(match.Success, field, $"{field} \"{text}\" is not a duration such as \"10m\", \"1h30m\" or \"45s\".");
        var total = 0.0;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unit = part.Value.TrimStart("0123456789.".ToCharArray());
            var amount = double.Parse(part.Value[..^unit.Length], CultureInfo.InvariantCulture);
            total += amount * unit switch { "ms" => 0.001, "s" => 1, "m" => 60, _ => 3600 };
        }
        return match.Groups["sign"].Value == "-" ? -total : total;
    }

    [GeneratedRegex(@"^(?<sign>[-+]?)(?<part>\d+(\.\d+)?(ms|s|m|h))+$")]
    private static partial Regex Duration();
}
