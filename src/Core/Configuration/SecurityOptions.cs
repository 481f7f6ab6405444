using System.ComponentModel.DataAnnotations;

namespace RnnLmService.Core.Configuration;

/// <summary>
/// <c>RnnLm:Auth</c>: API keys and what is open without one. With no key configured or created, the service is open
/// only while it listens on loopback; bound beyond loopback it creates an admin key at first start.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>Keys from configuration (<c>RnnLm:Auth:Keys:0:Name</c>, <c>:Key</c> or <c>:KeySha256</c>, <c>:Role</c>).</summary>
    public List<ConfiguredApiKey> Keys { get; set; } = [];

    /// <summary>Open the service deliberately: requests without a key act as <c>admin</c>, wherever it listens.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Swagger UI and the OpenAPI document need a <c>read</c> key.</summary>
    public bool ProtectDocs { get; set; }

    /// <summary><c>/metrics</c> needs a <c>read</c> key (Prometheus sends one with <c>authorization: { credentials: ... }</c>).</summary>
    public bool ProtectMetrics { get; set; } = true;

    /// <summary>How long a replica trusts what it read about a database key; a revoke elsewhere takes effect within this.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>One key from configuration: the key itself or its SHA-256 (hex), a name and a role.</summary>
public sealed class ConfiguredApiKey
{
    /// <summary>Shown in logs and in <c>GET /api/keys</c>; never the key.</summary>
    public string Name { get; set; } = "";

    /// <summary>The key as clients send it (at least 16 characters); or leave empty and set <see cref="KeySha256"/>.</summary>
    public string? Key { get; set; }

    /// <summary>SHA-256 of the key's UTF-8 bytes, 64 hex digits (<c>printf %s KEY | sha256sum</c>).</summary>
    public string? KeySha256 { get; set; }

    /// <summary><c>read</c>, <c>train</c> or <c>admin</c>.</summary>
    public string Role { get; set; } = "read";
}

/// <summary><c>RnnLm:Cors</c>: browser origins that may call the API from other sites. Empty (the default): none.</summary>
public sealed class CorsOptions
{
    /// <summary>Origins such as <c>https://app.example.com</c>; <c>*</c> allows any origin.</summary>
    public List<string> Origins { get; set; } = [];
}

/// <summary>
/// <c>RnnLm:Limits</c>: per key (per client IP without a key). Rates are per minute in fixed windows; the concurrency
/// limits count requests in flight. 0 turns a limit off. Beyond a limit: 429 with <c>Retry-After</c>.
/// </summary>
public sealed class LimitOptions
{
    /// <summary>Inference requests (next-word, generate, score, /v1 completions) per minute.</summary>
    [Range(0, 1_000_000)]
    public int InferencePerMinute { get; set; } = 1200;

    /// <summary>Inference requests in flight at once; a streamed generation counts for its whole length.</summary>
    [Range(0, 100_000)]
    public int ConcurrentInference { get; set; } = 32;

    /// <summary>Job and dataset submissions (POST /api/training-jobs, POST /api/datasets) per minute.</summary>
    [Range(0, 100_000)]
    public int SubmissionsPerMinute { get; set; } = 30;

    /// <summary>Dataset uploads in flight at once.</summary>
    [Range(0, 1000)]
    public int ConcurrentUploads { get; set; } = 2;

    /// <summary>Server-Sent Events connections (job events) open at once.</summary>
    [Range(0, 10_000)]
    public int EventStreams { get; set; } = 8;

    /// <summary>Queued jobs in the store, service-wide; a submission beyond it gets 429.</summary>
    [Range(0, 1_000_000)]
    public int MaxQueuedJobs { get; set; } = 100;

    /// <summary>Points (jobs) one sweep may have: the product of its grid's value counts.</summary>
    [Range(1, 10_000)]
    public int MaxSweepPoints { get; set; } = 64;

    /// <summary>Queued jobs one key (one client IP without a key) may have in the store at once; a submission beyond it gets 429.</summary>
    [Range(0, 1_000_000)]
    public int QueuedJobsPerKey { get; set; } = 20;
}
