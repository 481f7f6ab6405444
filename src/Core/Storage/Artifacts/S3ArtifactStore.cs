using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Core.Storage.Artifacts;

/// <summary>
/// The artifacts as objects in an S3-compatible bucket (AWS S3, MinIO), keyed by their artifact path under an optional
/// prefix. Readers get complete local copies in <see cref="CacheRoot"/>: a copy is fetched into a temporary directory
/// and renamed into place, and model copies are checked against the hashes in their <c>model.json</c>.
/// </summary>
public sealed class S3ArtifactStore : IArtifactStore, IDisposable
{
    private readonly IAmazonS3 _s3;
    private readonly string _bucket;
    private readonly string _prefix;

    /// <summary>A store on the bucket of <paramref name="options"/>, caching under <paramref name="cacheRoot"/>.</summary>
    public S3ArtifactStore(S3StorageOptions options, string cacheRoot)
    {
        _bucket = options.Bucket ?? throw new ArgumentException("RnnLm:Storage:S3:Bucket is required.", nameof(options));
        _prefix = string.IsNullOrWhiteSpace(options.Prefix) ? "" : ArtifactPaths.Check(options.Prefix) + "/";
        CacheRoot = Path.GetFullPath(cacheRoot);
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            AuthenticationRegion = options.Region,
            // Checksums only where S3 requires them: self-hosted servers differ in the newer trailing-checksum uploads.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (string.IsNullOrWhiteSpace(options.Endpoint)) config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        else config.ServiceURL = options.Endpoint;
        _s3 = string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    /// <summary>This node's copies of stored directories.</summary>
    public string CacheRoot { get; }

    /// <inheritdoc />
    public string Provider => "s3";

    /// <inheritdoc />
    public bool PutsByRename => false;

    private volatile bool _bucketReady;

    /// <summary>Creates the bucket when it does not exist (before the first write, so a fresh MinIO needs no manual step).</summary>
    public async Task EnsureBucketAsync(CancellationToken ct = default)
    {
        if (_bucketReady) return;
        try
        {
            await _s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, ct);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists" || e.StatusCode == HttpStatusCode.Conflict)
        {
        }
        _bucketReady = true;
    }

    /// <inheritdoc />
    public async Task PutDirectoryAsync(string localDirectory, string path, string commitFile, CancellationToken ct = default)
    {
        path = ArtifactPaths.Check(path);
        await EnsureBucketAsync(ct);
        var files = Directory.EnumerateFiles(localDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(localDirectory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .OrderBy(f => f == commitFile ? 1 : 0).ThenBy(f => f, StringComparer.Ordinal)
            .ToList();
        foreach (var file in files)
        {
            await _s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _bucket, Key = Key(ArtifactPaths.Join(path, file)), FilePath = Path.Combine(localDirectory, file),
                UseChunkEncoding = false,
            }, ct);
        }
        Directory.Delete(localDirectory, recursive: true);
    }

    /// <inheritdoc />
    public async Task<string?> GetDirectoryAsync(string path, CancellationToken ct = default)
    {
        path = ArtifactPaths.Check(path);
        var local = Path.Combine(CacheRoot, path);
        if (Directory.Exists(local)) return local;
        var files = await ListAsync(path, ct);
        if (files.Count == 0) return null;
        await FetchAsync(path, files, local, ct);
        return local;
    }

    /// <inheritdoc />
    public async Task<string> GetModelDirectoryAsync(string modelPath, CancellationToken ct = default)
    {
        modelPath = ArtifactPaths.Check(modelPath);
        var local = Path.Combine(CacheRoot, modelPath);
        if (Directory.Exists(local))
        {
            try
            {
                ModelArtifacts.CheckHashes(local, ModelArtifacts.ReadManifest(local));
                return local;
            }
            catch (Exception e) when (e is ModelFormatException or IOException)
            {
                Directory.Delete(local, recursive: true);   // a truncated or replaced copy: fetch it again
            }
        }
        var files = await ListAsync(modelPath, ct);
        if (!files.Contains(ModelArtifacts.ManifestFile))
            throw new ModelFormatException(modelPath, "the model version has no model.json in the bucket");
        await FetchAsync(modelPath, files, local, ct);
        ModelArtifacts.CheckHashes(local, ModelArtifacts.ReadManifest(local));
        return local;
    }

    /// <inheritdoc />
    public async Task<ModelManifest> ReadModelManifestAsync(string modelPath, CancellationToken ct = default)
    {
        var dir = Directory.CreateTempSubdirectory("rnnlm-manifest-");
        try
        {
            var key = Key(ArtifactPaths.Join(modelPath, ModelArtifacts.ManifestFile));
            try { await DownloadAsync(key, Path.Combine(dir.FullName, ModelArtifacts.ManifestFile), ct); }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                throw new ModelFormatException(modelPath, "the model version has no model.json in the bucket");
            }
            return ModelArtifacts.ReadManifest(dir.FullName);
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default)
    {
        var prefix = Key(ArtifactPaths.Check(path)) + "/";
        var files = new List<string>();
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix };
        ListObjectsV2Response response;
        do
        {
            try { response = await _s3.ListObjectsV2Async(request, ct); }
            catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket") { return []; }   // nothing was ever written
            files.AddRange((response.S3Objects ?? []).Select(o => o.Key[prefix.Length..]));
            request.ContinuationToken = response.NextContinuationToken;
        } while (response.IsTruncated == true);
        return files.Order(StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string path, CancellationToken ct = default)
    {
        path = ArtifactPaths.Check(path);
        foreach (var chunk in (await ListAsync(path, ct)).Chunk(1000))
        {
            await _s3.DeleteObjectsAsync(new DeleteObjectsRequest
            {
                BucketName = _bucket,
                Objects = chunk.Select(f => new KeyVersion { Key = Key(ArtifactPaths.Join(path, f)) }).ToList(),
            }, ct);
        }
        var local = Path.Combine(CacheRoot, path);
        if (Directory.Exists(local)) Directory.Delete(local, recursive: true);
    }

    /// <summary>Downloads <paramref name="files"/> of <paramref name="path"/> into a temporary directory, then renames it to <paramref name="local"/>.</summary>
    private async Task FetchAsync(string path, IReadOnlyList<string> files, string local, CancellationToken ct)
    {
        var parent = Path.GetDirectoryName(local)!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".fetch-{Path.GetFileName(local)}-{Guid.NewGuid():N}");
        try
        {
            foreach (var file in files)
                await DownloadAsync(Key(ArtifactPaths.Join(path, file)), Path.Combine(tmp, ArtifactPaths.Check(file)), ct);
            Directory.CreateDirectory(tmp);
            try { Directory.Move(tmp, local); }
            catch (IOException) when (Directory.Exists(local)) { }   // another reader fetched it first
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
    }

    private async Task DownloadAsync(string key, string target, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var response = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, ct);
        await using var stream = response.ResponseStream;
        await using var file = File.Create(target);
        await stream.CopyToAsync(file, ct);
    }

    private string Key(string path) => _prefix + path;

    /// <inheritdoc />
    public async Task WriteTextAsync(string path, string text, CancellationToken ct = default)
    {
        await EnsureBucketAsync(ct);
        await _s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket, Key = Key(ArtifactPaths.Check(path)), ContentBody = text, ContentType = "application/json", UseChunkEncoding = false,
        }, ct);
    }

    /// <inheritdoc />
    public async Task<string?> ReadTextAsync(string path, CancellationToken ct = default)
    {
        try
        {
            using var response = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = Key(ArtifactPaths.Check(path)) }, ct);
            using var reader = new StreamReader(response.ResponseStream);
            return await reader.ReadToEndAsync(ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound || e.ErrorCode is "NoSuchKey" or "NoSuchBucket")
        {
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _s3.Dispose();
}
