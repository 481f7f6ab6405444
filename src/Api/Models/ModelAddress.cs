using System.Globalization;
using RnnLmService.Core;

namespace RnnLmService.Api.Models;

/// <summary>A model as clients write it: <c>name</c> (its promoted, else newest, version) or <c>name@version</c>.</summary>
public readonly record struct ModelAddress(string Name, int? Version)
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="field"/> names the request field in errors.</summary>
    public static ModelAddress Parse(string text, string field = "model")
    {
        var at = text.LastIndexOf('@');
        var name = at < 0 ? text : text[..at];
        InvalidSettingException.Check(name.Length > 0 && name.Length <= 200 && !name.Any(char.IsWhiteSpace) && !name.Contains('/'),
            field, $"'{text}' is not a model name: use 'name' or 'name@version' (no spaces or slashes).");
        if (at < 0) return new(name, null);
        var ok = int.TryParse(text[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version >= 1;
        InvalidSettingException.Check(ok, field, $"'{text}' has no valid version after '@': versions are whole numbers from 1.");
        return new(name, version);
    }

    /// <summary>The key of one version, <c>name@version</c>.</summary>
    public static string Key(string name, int version) => $"{name}@{version}";

    /// <inheritdoc />
    public override string ToString() => Version is { } v ? Key(Name, v) : Name;
}
