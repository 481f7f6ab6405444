using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Core.Storage.Artifacts;

/// <summary>
/// Where the artifacts live (datasets, checkpoints, model versions), addressed by paths relative to the data directory
/// with '/' (<c>models/{name}/{version}</c>). The database stays the source of truth for what exists; this holds the
/// bytes. <c>filesystem</c> (default) is the data directory itself; <c>s3</c> is a bucket, with a local cache.
/// </summary>
public interface IArtifactStore
{
    /// <summary><c>filesystem</c> or <c>s3</c>.</summary>
    string Provider { get; }

    /// <summary>The checked <c>model.json</c> of the version at <paramref name="modelPath"/>; <see cref="ModelFormatException"/> when absent or unreadable.</summary>
    Task<ModelManifest> ReadModelManifestAsync(string modelPath, CancellationToken ct = default);
}
