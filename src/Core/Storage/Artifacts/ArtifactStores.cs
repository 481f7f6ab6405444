using RnnLmService.Core.Configuration;

namespace RnnLmService.Core.Storage.Artifacts;

/// <summary>Builds the <see cref="IArtifactStore"/> that <c>RnnLm:Storage:Provider</c> names.</summary>
public static class ArtifactStores
{
    /// <summary>The cache of S3 copies: <c>{DataDirectory}/cache</c> (this node's own; never shared).</summary>
    public static string CacheRoot(string dataPath) => Path.Combine(dataPath, "cache");

    /// <summary>The file system under <paramref name="dataPath"/>, or the bucket of <paramref name="storage"/> cached there.</summary>
    public static IArtifactStore Create(StorageOptions storage, string dataPath) =>
        storage.IsS3 ? new S3ArtifactStore(storage.S3, CacheRoot(dataPath)) : new FileSystemArtifactStore(dataPath);
}
