using System.Globalization;
using RnnLmService.Core;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Api.Models;

/// <summary>A model as clients write it: <c>name</c> (its promoted, else newest, version) or <c>name@version</c>.</summary>
public readonly record struct ModelAddress(string Name, int? Version)
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="field"/> names the request field in errors.</summary>
    public static ModelAddress Parse(string text, string field = "model")
    {
        var at = text.LastIndexOf('@');
        var name = at < 0 ? text : text[..at];
        InvalidSettingException.Check(ModelNames.IsValid(name), field,
            $"'{ModelNames.Shorten(text)}' is not a model: use 'name' or 'name@version', the name {ModelNames.Rule}.");
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
