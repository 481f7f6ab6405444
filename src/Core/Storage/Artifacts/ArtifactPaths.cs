namespace RnnLmService.Core.Storage.Artifacts;

/// <summary>Artifact paths: relative, '/'-separated, without empty, <c>.</c> or <c>..</c> segments, so no path leaves the store.</summary>
public static class ArtifactPaths
{
    /// <summary>Returns <paramref name="path"/> without a trailing '/'; <see cref="ArgumentException"/> when it could leave the store.</summary>
    public static string Check(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var trimmed = path.Replace('\\', '/').TrimEnd('/');
        if (trimmed.StartsWith('/') || trimmed.Split('/').Any(s => s is "" or "." or ".."))
            throw new ArgumentException($"'{path}' is not a relative artifact path.", nameof(path));
        return trimmed;
    }

    /// <summary><paramref name="path"/> and <paramref name="file"/> joined with '/'.</summary>
    public static string Join(string path, string file) => $"{Check(path)}/{Check(file)}";
}
