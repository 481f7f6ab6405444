using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace RnnLmService.Core.Storage.Models;

/// <summary>What a model name may be: it becomes a directory name under <c>models/</c>, so no path characters.</summary>
public static partial class ModelName
{
    /// <summary>The rule, as told to clients.</summary>
    public const string Rule = "1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit (no path characters)";

    /// <summary>Whether <paramref name="name"/> follows <see cref="Rule"/>.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name) => !string.IsNullOrEmpty(name) && Pattern().IsMatch(name);

    /// <summary>Throws <see cref="InvalidSettingException"/> for <paramref name="field"/> when <paramref name="name"/> breaks the rule.</summary>
    public static void Check(string? name, string field) =>
        InvalidSettingException.Check(IsValid(name), field, $"{field} must be {Rule} (was '{name}').");

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex Pattern();
}
