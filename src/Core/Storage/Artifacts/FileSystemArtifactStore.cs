using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Core.Storage.Artifacts;

/// <summary>The artifacts as files under the data directory (the default: one machine, or a volume shared by all).</summary>
public sealed class FileSystemArtifactStore(string dataPath) : IArtifactStore
{
    /// <summary>The data directory, absolute.</summary>
    public string Root { get; } = Path.GetFullPath(dataPath);

    /// <inheritdoc />
    public string Provider => "filesystem";

    /// <inheritdoc />
    public bool PutsByRename => true;

    /// <summary>The absolute path of a relative artifact path.</summary>
    public string Local(string path) => Path.Combine(Root, ArtifactPaths.Check(path));

    /// <inheritdoc />
    public Task PutDirectoryAsync(string localDirectory, string path, string commitFile, CancellationToken ct = default)
    {
        var target = Local(path);
        if (Directory.Exists(target)) return Task.CompletedTask;   // put before a crash: the rename happened
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Durable.MoveDirectory(localDirectory, target);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<string?> GetDirectoryAsync(string path, CancellationToken ct = default)
    {
        var local = Local(path);
        return Task.FromResult(Directory.Exists(local) ? local : null);
    }

    /// <inheritdoc />
    public Task<string> GetModelDirectoryAsync(string modelPath, CancellationToken ct = default) => Task.FromResult(Local(modelPath));

    /// <inheritdoc />
    public Task<ModelManifest> ReadModelManifestAsync(string modelPath, CancellationToken ct = default) =>
        Task.FromResult(ModelArtifacts.ReadManifest(Local(modelPath)));

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default)
    {
        var local = Local(path);
        IReadOnlyList<string> files = Directory.Exists(local)
            ? Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(local, f).Replace(Path.DirectorySeparatorChar, '/'))
                .Order(StringComparer.Ordinal).ToList()
            : [];
        return Task.FromResult(files);
    }

    /// <inheritdoc />
    public Task DeleteAsync(string path, CancellationToken ct = default)
    {
        var local = Local(path);
        if (!Directory.Exists(local)) return Task.CompletedTask;
        // Renamed first, so no reader ever sees a half-deleted directory under its name.
        var doomed = Path.Combine(Path.GetDirectoryName(local)!, $".deleted-{Path.GetFileName(local)}-{Guid.NewGuid():N}");
        Directory.Move(local, doomed);
        Directory.Delete(doomed, recursive: true);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task WriteTextAsync(string path, string text, CancellationToken ct = default)
    {
        var target = Local(path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var tmp = target + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, target, overwrite: true);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<string?> ReadTextAsync(string path, CancellationToken ct = default)
    {
        var target = Local(path);
        return Task.FromResult(File.Exists(target) ? File.ReadAllText(target) : null);
    }
}
