using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Api.Models;

/// <summary>Versions as last read from the store, and the default model setting.</summary>
public sealed class ModelCatalog(IReadOnlyList<ModelVersionRecord> versions, string? defaultModel)
{
    /// <summary>No versions, no default.</summary>
    public static readonly ModelCatalog Empty = new([], null);

    /// <summary>Every version, by name then newest first.</summary>
    public IReadOnlyList<ModelVersionRecord> Versions { get; } = versions;

    /// <summary>The default-model setting as stored (<c>name</c> or <c>name@version</c>), if any.</summary>
    public string? DefaultModel { get; } = defaultModel;

    /// <summary>One exact version.</summary>
    public ModelVersionRecord? Find(string name, int version) => Versions.FirstOrDefault(v => v.Name == name && v.Version == version);

    /// <summary>
    /// What a client's model string names: <c>name@version</c> exactly; <c>name</c> its promoted version, else
    /// its newest; null or empty the default model (the setting, else the only name there is).
    /// </summary>
    public ModelVersionRecord? Resolve(string? model, string field)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            model = DefaultModel;
            if (string.IsNullOrWhiteSpace(model))
            {
                var names = Versions.Select(v => v.Name).Distinct().Take(2).ToList();
                if (names.Count != 1) return null;
                model = names[0];
            }
        }
        var address = ModelAddress.Parse(model, field);
        var candidates = Versions.Where(v => v.Name == address.Name);
        return address.Version is { } version
            ? candidates.FirstOrDefault(v => v.Version == version)
            : candidates.OrderByDescending(v => v.Promoted).ThenByDescending(v => v.Version).FirstOrDefault();
    }
}
