using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Core.Storage.Artifacts;

/// <summary>
/// Where the artifacts live (datasets, checkpoints, model versions), addressed by paths relative to the data directory
/// with '/' (<c>models/{name}/{version}</c>). The database stays the source of truth for what exists; this holds the
/// bytes. <c>filesystem</c> (default, <see cref="FileSystemArtifactStore"/>) is the data directory itself; <c>s3</c>
/// (<see cref="S3ArtifactStore"/>) is a bucket, read through a local cache, so no volume is shared between machines.
/// A stored directory never changes: a new version, checkpoint or dataset is a new path.
/// </summary>
public interface IArtifactStore
{
    /// <summary><c>filesystem</c> or <c>s3</c>.</summary>
    string Provider { get; }

    /// <summary>
    /// True when <see cref="PutDirectoryAsync"/> is one atomic rename (file system): a publisher may record a version first
    /// and put it after. False when it is an upload that takes time (S3): the artifact is put before it is recorded, so
    /// whoever reads the record finds the files.
    /// </summary>
    bool PutsByRename { get; }

    /// <summary>
    /// Stores the complete local directory <paramref name="localDirectory"/> at <paramref name="path"/> and removes the
    /// local copy: the file system renames it into place (nothing when <paramref name="path"/> exists already); S3 uploads
    /// each file, <paramref name="commitFile"/> last, so a reader that finds that file finds all the others.
    /// </summary>
    Task PutDirectoryAsync(string localDirectory, string path, string commitFile, CancellationToken ct = default);

    /// <summary>
    /// A local directory holding the files stored at <paramref name="path"/>, or null when there are none: the data
    /// directory's own (file system), or a complete copy in this node's cache, fetched when missing (S3).
    /// </summary>
    Task<string?> GetDirectoryAsync(string path, CancellationToken ct = default);

    /// <summary>
    /// The local directory of the model version at <paramref name="modelPath"/>. S3 keeps a cache and checks every
    /// cached file against the SHA-256 <c>model.json</c> lists, fetching again what is missing or differs.
    /// </summary>
    Task<string> GetModelDirectoryAsync(string modelPath, CancellationToken ct = default);

    /// <summary>The checked <c>model.json</c> of the version at <paramref name="modelPath"/>; <see cref="ModelFormatException"/> when absent or unreadable.</summary>
    Task<ModelManifest> ReadModelManifestAsync(string modelPath, CancellationToken ct = default);

    /// <summary>The files stored under <paramref name="path"/>, relative to it with '/', in ordinal order (empty when none).</summary>
    Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default);

    /// <summary>Deletes everything stored under <paramref name="path"/> (and its cached copy); nothing when there is none.</summary>
    Task DeleteAsync(string path, CancellationToken ct = default);

    /// <summary>Stores a small text file at <paramref name="path"/>, replacing what was there (a state that changes, never cached).</summary>
    Task WriteTextAsync(string path, string text, CancellationToken ct = default);

    /// <summary>The text stored at <paramref name="path"/> as it is now (read from the store, not a cached copy), or null when there is none.</summary>
    Task<string?> ReadTextAsync(string path, CancellationToken ct = default);
}
