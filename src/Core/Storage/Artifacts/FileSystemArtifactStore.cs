using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Core.Storage.Artifacts;

/// <summary>The artifacts as files under the data directory (the default; one machine, or a volume shared by all).</summary>
public sealed class FileSystemArtifactStore(string dataPath) : IArtifactStore
{
    /// <summary>The data directory, absolute.</summary>
    public string Root { get; } = Path.GetFullPath(dataPath);

    /// <inheritdoc />
    public string Provider => "filesystem";

    /// <inheritdoc />
    public Task<ModelManifest> ReadModelManifestAsync(string modelPath, CancellationToken ct = default) =>
        Task.FromResult(ModelArtifacts.ReadManifest(Local(modelPath)));

    /// <summary>The absolute path of a relative artifact path.</summary>
    public string Local(string relative) => Path.Combine(Root, relative);
}
