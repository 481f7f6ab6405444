using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RnnLmService.Core.Storage.Models;

/// <summary>
/// A model version as one uncompressed POSIX tar archive (PAX format): <c>model.json</c> first, then every other file of
/// the version's directory under its relative path — whatever files the directory holds, so files a tokenizer adds
/// travel too. The <c>model.json</c> inside lists each other file's SHA-256 (<see cref="ModelManifest.Files"/>).
/// Tar rather than zip: it streams in both directions (no central directory at the end), and the weights do not compress.
/// Reading is hostile-input safe: every member is checked before a byte of it is written, and only under the staging directory.
/// </summary>
public static partial class ModelArchive
{
    /// <summary>The archive's media type.</summary>
    public const string MediaType = "application/x-tar";

    /// <summary>Most members an archive may have.</summary>
    public const int MaxMembers = 256;

    /// <summary>
    /// The manifest an export writes: the directory's <c>model.json</c> with the hashes of all its files, after checking
    /// them against what <c>model.json</c> recorded. Throws <see cref="ModelFormatException"/> for a damaged directory.
    /// </summary>
    public static ModelManifest PrepareExport(string directory)
    {
        var manifest = ModelArtifacts.ReadManifest(directory);
        var files = ModelArtifacts.CheckHashes(directory, manifest);
        foreach (var relative in files.Keys)
            if (MemberNameProblem(relative) is { } problem)
                throw new ModelFormatException(Path.Combine(directory, relative), $"'{relative}' cannot be exported: {problem}");
        return manifest with { Files = files };
    }

    /// <summary>Streams the archive of <paramref name="directory"/> (prepared by <see cref="PrepareExport"/>) to <paramref name="output"/>.</summary>
    public static async Task WriteAsync(string directory, ModelManifest manifest, Stream output, CancellationToken ct = default)
    {
        var time = manifest.CreatedAt;
        await using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        using (var json = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(manifest, ModelManifest.JsonOptions)))
            await tar.WriteEntryAsync(Member(ModelArtifacts.ManifestFile, json, time), ct);
        foreach (var relative in manifest.Files!.Keys.Order(StringComparer.Ordinal))
        {
            await using var data = new FileStream(Path.Combine(directory, relative), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
            await tar.WriteEntryAsync(Member(relative, data, time), ct);
        }
    }

    /// <summary>
    /// Unpacks an archive into the empty directory <paramref name="staging"/>, checking each member's name, type and size
    /// before writing it, then the set of members and their hashes against the <c>model.json</c> inside. Throws
    /// <see cref="InvalidArchiveException"/> saying what is wrong (the caller deletes <paramref name="staging"/>).
    /// <paramref name="maxBytes"/> is the most bytes all members together (and so any one) may hold.
    /// </summary>
    public static async Task<(ModelManifest Manifest, string ArchiveSha256)> ExtractAsync(Stream input, string staging, long maxBytes, CancellationToken ct = default)
    {
        using var sha = SHA256.Create();
        var members = new Dictionary<string, string>(StringComparer.Ordinal);      // name → SHA-256
        await using (var hashed = new CryptoStream(input, sha, CryptoStreamMode.Read, leaveOpen: true))
        {
            try
            {
                await ReadMembersAsync(hashed, staging, maxBytes, members, ct);
                await hashed.CopyToAsync(Stream.Null, ct);                          // the end-of-archive blocks, into the hash
            }
            catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException and not InvalidSettingException)
            {
                throw new InvalidArchiveException($"the body is not a complete tar archive: {e.Message}");
            }
        }
        var manifest = CheckMembers(staging, members);
        return (manifest, Convert.ToHexStringLower(sha.Hash!));
    }

    private static async Task ReadMembersAsync(Stream input, string staging, long maxBytes, Dictionary<string, string> members, CancellationToken ct)
    {
        await using var reader = new TarReader(input, leaveOpen: true);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        long total = 0;
        var count = 0;
        while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
        {
            if (++count > MaxMembers) throw new InvalidArchiveException($"the archive has more than {MaxMembers} members.");
            if (entry.EntryType == TarEntryType.GlobalExtendedAttributes) continue;  // archive-wide PAX defaults: no file
            var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
            var isDirectory = entry.EntryType == TarEntryType.Directory;
            if (isDirectory) name = name.TrimEnd('/');
            if (isDirectory && name.Length == 0) continue;                           // "./" of `tar -C dir .`
            if (MemberNameProblem(name) is { } problem) throw Member(entry.Name, problem);
            if (isDirectory) continue;                                               // directories are made as files need them
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                throw Member(entry.Name, $"it is a {Describe(entry.EntryType)}; only regular files are allowed");
            if (!seen.Add(name)) throw Member(entry.Name, "it appears twice");
            if (entry.Length > maxBytes - total)
                throw Member(entry.Name, $"it is {entry.Length} bytes, over what is left of the import limit of {maxBytes} bytes (RnnLm:Serving:MaxImportBytes)");
            total += entry.Length;
            members[name] = await CopyAsync(entry.DataStream, Inside(staging, name), entry.Length, ct);
        }
    }

    /// <summary>The members must be exactly model.json and the files it lists, each with the hash it gives.</summary>
    private static ModelManifest CheckMembers(string staging, Dictionary<string, string> members)
    {
        if (members.Count == 0)
            throw new InvalidArchiveException("the body holds no file: it is not a tar archive (or it is compressed; send the uncompressed tar).");
        if (!members.ContainsKey(ModelArtifacts.ManifestFile))
            throw new InvalidArchiveException($"the archive has no {ModelArtifacts.ManifestFile}: it is not a model export.");
        ModelManifest manifest;
        try
        {
            manifest = ModelArtifacts.ReadManifest(staging);
        }
        catch (ModelFormatException e)
        {
            throw Member(ModelArtifacts.ManifestFile, e.Reason);
        }
        if (manifest.Files is not { } listed)
            throw Member(ModelArtifacts.ManifestFile, "it lists no file hashes ('files'), so the archive cannot be checked");
        foreach (var name in members.Keys.Where(n => n != ModelArtifacts.ManifestFile && !listed.ContainsKey(n)))
            throw Member(name, $"it is not one of the files {ModelArtifacts.ManifestFile} lists (unexpected member)");
        foreach (var (name, hash) in listed)
        {
            if (!members.TryGetValue(name, out var actual))
                throw Member(name, $"{ModelArtifacts.ManifestFile} lists it but the archive does not contain it");
            if (!string.Equals(actual, hash, StringComparison.OrdinalIgnoreCase))
                throw Member(name, $"its SHA-256 {actual} differs from {hash} in {ModelArtifacts.ManifestFile} (damaged or altered)");
        }
        foreach (var required in new[] { manifest.WeightsFile, manifest.VocabularyFile })
            if (!listed.ContainsKey(required)) throw Member(required, $"{ModelArtifacts.ManifestFile} names it but does not list its hash");
        if (manifest.WeightsSha256 is { } weights && !string.Equals(weights, listed[manifest.WeightsFile], StringComparison.OrdinalIgnoreCase))
            throw Member(manifest.WeightsFile, "its two hashes in model.json (weightsSha256 and files) differ");
        return manifest;
    }

    /// <summary>Why <paramref name="name"/> is not an allowed member path, or null: relative, '/'-separated, no '..', no hidden or odd names.</summary>
    public static string? MemberNameProblem(string name)
    {
        if (name.Length == 0) return "its name is empty";
        if (name.Length > 255) return "its name is longer than 255 characters";
        if (name[0] is '/' or '\\' || (name.Length > 1 && name[1] == ':')) return "it is an absolute path; members must be relative to the model directory";
        if (name.Contains('\\')) return "its name contains a backslash";
        var segments = name.Split('/');
        if (segments.Contains("..")) return "its path leaves the model directory ('..')";
        if (segments.Length > 4) return "it is nested more than 4 levels deep";
        foreach (var segment in segments)
            if (!SegmentPattern().IsMatch(segment))
                return $"'{segment}' is not an allowed file name (letters, digits, '.', '_' and '-', not starting with '.')";
        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex SegmentPattern();

    /// <summary>The full path of a checked member name; refuses anything that would still land outside (defence in depth).</summary>
    private static string Inside(string staging, string name)
    {
        var root = Path.GetFullPath(staging) + Path.DirectorySeparatorChar;
        var path = Path.GetFullPath(Path.Combine(root, name));
        if (!path.StartsWith(root, StringComparison.Ordinal)) throw Member(name, "its path leaves the model directory");
        return path;
    }

    private static async Task<string> CopyAsync(Stream? data, string path, long length, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        if (data is not null)
        {
            var buffer = new byte[1 << 16];
            long copied = 0;
            int read;
            while ((read = await data.ReadAsync(buffer, ct)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), ct);
                copied += read;
            }
            if (copied != length) throw new EndOfStreamException($"member data ended after {copied} of {length} bytes");
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static PaxTarEntry Member(string name, Stream data, DateTimeOffset time) => new(TarEntryType.RegularFile, name)
    {
        DataStream = data,
        Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        ModificationTime = time,
    };

    private static InvalidArchiveException Member(string name, string problem) => new($"archive member '{name}': {problem}.");

    private static string Describe(TarEntryType type) => type switch
    {
        TarEntryType.SymbolicLink => "symbolic link",
        TarEntryType.HardLink => "hard link",
        TarEntryType.CharacterDevice or TarEntryType.BlockDevice => "device",
        TarEntryType.Fifo => "FIFO",
        _ => $"{type} entry",
    };
}
