using System.ComponentModel.DataAnnotations;

namespace RnnLmService.Core.Configuration;

/// <summary>Where artifacts (datasets, checkpoints, model versions) live: <c>RnnLm:Storage</c>.</summary>
public sealed class StorageOptions
{
    /// <summary><c>filesystem</c> (default: under the data directory) or <c>s3</c> (a bucket every API replica and worker reaches).</summary>
    [Required, RegularExpression("^(?i)(filesystem|s3)$", ErrorMessage = "RnnLm:Storage:Provider must be 'filesystem' or 's3'.")]
    public string Provider { get; set; } = "filesystem";

    /// <summary>The bucket and how to reach it, for the <c>s3</c> provider.</summary>
    [Required]
    public S3StorageOptions S3 { get; set; } = new();

    /// <summary>True for the <c>s3</c> provider.</summary>
    public bool IsS3 => string.Equals(Provider, "s3", StringComparison.OrdinalIgnoreCase);
}

/// <summary>An S3-compatible bucket (AWS S3, MinIO, ...): <c>RnnLm:Storage:S3</c>.</summary>
public sealed record S3StorageOptions
{
    /// <summary>The service URL, e.g. <c>http://minio:9000</c>; empty for AWS S3 in <see cref="Region"/>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The bucket (created at start when missing).</summary>
    public string? Bucket { get; set; }

    /// <summary>The region to sign requests for (MinIO accepts any; default us-east-1).</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Access key id; empty to take credentials from the environment (AWS_ACCESS_KEY_ID, instance roles).</summary>
    public string? AccessKey { get; set; }

    /// <summary>Secret access key, with <see cref="AccessKey"/>.</summary>
    public string? SecretKey { get; set; }

    /// <summary>Path-style addressing (<c>endpoint/bucket/key</c>), which MinIO and most self-hosted servers need (default true).</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Key prefix inside the bucket, so several services can share one bucket (default none).</summary>
    public string? Prefix { get; set; }
}
