using System.Text.RegularExpressions;

namespace RnnLmService.Core.Storage.Models;

/// <summary>
/// The one rule for model names, wherever a client writes one (a job's <c>modelName</c>, <c>{model}</c> in a route,
/// <c>model</c> in a body): 1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit. A name
/// is also a directory under <c>models/</c>, so the rule keeps path characters out.
/// </summary>
public static partial class ModelNames
{
    /// <summary>Longest model name.</summary>
    public const int MaxLength = 64;

    /// <summary>The rule in words, for error messages and the OpenAPI document.</summary>
    public const string Rule = "1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";

    /// <summary>The rule as a regular expression (also the OpenAPI <c>pattern</c>).</summary>
    public const string Pattern = "^[a-z0-9][a-z0-9._-]{0,63}$";

    /// <summary>A model address, <c>name</c> or <c>name@version</c> (a job's <c>init</c>), as a regular expression for the OpenAPI document.</summary>
    public const string AddressPattern = "^[a-z0-9][a-z0-9._-]{0,63}(@[1-9][0-9]{0,9})?$";

    /// <summary>True when <paramref name="name"/> follows the rule.</summary>
    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && Regex().IsMatch(name);

    /// <summary>Throws <see cref="InvalidSettingException"/> naming <paramref name="field"/> when the name breaks the rule.</summary>
    public static string Check(string? name, string field)
    {
        InvalidSettingException.Check(IsValid(name), field,
            $"{field} must be {Rule} (was '{Shorten(name)}').");
        return name!;
    }

    /// <summary>The start of a long value, so an error never echoes a huge string.</summary>
    public static string Shorten(string? value, int max = 80) =>
        value is null ? "" : value.Length <= max ? value : value[..max] + "...";

    [GeneratedRegex(Pattern)]
    private static partial Regex Regex();
}
