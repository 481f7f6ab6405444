using System.ComponentModel.DataAnnotations;

namespace RnnLmService.Core.Configuration;

/// <summary>
/// The one configuration section, <c>RnnLm</c>. Every key can come from the environment
/// (<c>RnnLm__DataDirectory=/data</c>). Validated at start.
/// </summary>
public sealed class RnnLmOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "RnnLm";

    /// <summary>Root of datasets, models, checkpoints and the SQLite file.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Where jobs, events, datasets and model versions are recorded.</summary>
    [Required]
    public StoreOptions Store { get; set; } = new();

    /// <summary>The training worker.</summary>
    [Required]
    public WorkerOptions Worker { get; set; } = new();

    /// <summary>Inference serving: scheduling, batching and request limits.</summary>
    [Required]
    public ServingOptions Serving { get; set; } = new();

    /// <summary>API keys, anonymous access, protected docs and metrics.</summary>
    [Required]
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Browser origins allowed to call the API cross-site.</summary>
    [Required]
    public CorsOptions Cors { get; set; } = new();

    /// <summary>Per-key rate and concurrency limits.</summary>
    [Required]
    public LimitOptions Limits { get; set; } = new();

    /// <summary>Creates a starter model on first start with an empty store.</summary>
    public bool StarterModel { get; set; } = true;

    /// <summary>Absolute data directory.</summary>
    public string DataPath => Path.GetFullPath(DataDirectory);
}

/// <summary>Which database records the domain.</summary>
public sealed class StoreOptions
{
    /// <summary><c>sqlite</c> (default: <c>{DataDirectory}/rnnlm.db</c>) or <c>postgres</c>.</summary>
    [Required, RegularExpression("^(?i)(sqlite|postgres)$", ErrorMessage = "RnnLm:Store:Provider must be 'sqlite' or 'postgres'.")]
    public string Provider { get; set; } = "sqlite";

    /// <summary>Connection string; for SQLite optional (defaults to the file in the data directory), for PostgreSQL required.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>The training worker's settings (thread counts are per process and OS thread, never per job).</summary>
public sealed class WorkerOptions
{
    /// <summary>Run the worker inside the API process.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Jobs run at the same time by this process.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 1;

    /// <summary>LibTorch intra-op threads of each training thread (0: LibTorch's default).</summary>
    [Range(0, 256)]
    public int TorchThreads { get; set; } = 1;

    /// <summary>How often an idle worker looks for queued jobs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claim lasts without a heartbeat before another worker may take the job.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a running job renews its lease and reads its cancel flag.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A checkpoint is written at every epoch end and at least this often.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Inference serving limits.</summary>
public sealed class ServingOptions
{
    /// <summary>LibTorch intra-op threads of each model's inference scheduler thread.</summary>
    [Range(1, 256)]
    public int TorchThreads { get; set; } = 1;

    /// <summary>Most requests run together in one batch.</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// Longest a request waits for others to join its batch. 0 (the default) batches whatever queued while the previous
    /// batch ran: measured no worse at 64 clients and 2.2-2.4x the requests/s of a 5 ms wait for a single client (bench/RESULTS.md).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan MaxBatchWait { get; set; } = TimeSpan.Zero;

    /// <summary>Requests queued per model before new ones get 429.</summary>
    [Range(1, 100000)]
    public int QueueCapacity { get; set; } = 256;

    /// <summary>Largest maxTokens a generation may ask for.</summary>
    [Range(1, 100000)]
    public int MaxNewTokens { get; set; } = 512;

    /// <summary>Largest number of completions per request.</summary>
    [Range(1, 64)]
    public int MaxCompletions { get; set; } = 8;

    /// <summary>Longest prompt or context, in characters.</summary>
    [Range(1, 10_000_000)]
    public int MaxPromptCharacters { get; set; } = 20000;

    /// <summary>Largest JSON request body, in bytes.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>Largest dataset upload, in bytes (default 256 MB).</summary>
    [Range(1024, 1L << 40)]
    public long MaxUploadBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How often the registry polls the store for new model versions.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ModelPollInterval { get; set; } = TimeSpan.FromSeconds(2);
}
