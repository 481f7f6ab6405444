using RnnLmService.Core;

namespace RnnLmService.Api.Endpoints;

/// <summary>Checks shared by the inference endpoints; each failure names the field (400).</summary>
internal static class RequestChecks
{
    /// <summary>A required, non-blank text of at most <paramref name="maxCharacters"/> characters.</summary>
    public static string Text(string? value, string field, int maxCharacters)
    {
        InvalidSettingException.Check(value is not null, field, $"{field} is required.");
        InvalidSettingException.Check(!string.IsNullOrWhiteSpace(value), field, $"{field} must not be empty.");
        InvalidSettingException.Check(value!.Length <= maxCharacters, field,
            $"{field} has {value.Length} characters; the limit is {maxCharacters} (RnnLm:Serving:MaxPromptCharacters).");
        return value;
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
        InvalidSettingException.Check(stop.All(s => !string.IsNullOrEmpty(s) && s.Length <= 200), field, $"each {field} string must be 1 to 200 characters.");
        return stop;
    }
}
