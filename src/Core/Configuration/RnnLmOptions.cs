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

    /// <summary>Where datasets, checkpoints and model versions live: the data directory (default) or an S3 bucket.</summary>
    [Required]
    public StorageOptions Storage { get; set; } = new();

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

    /// <summary>
    /// LibTorch intra-op threads of each job's training process. 0 (default): the machine's cores divided among
    /// <see cref="Concurrency"/> jobs, one core left to serving when the worker runs inside the API, at least 1.
    /// </summary>
    [Range(0, 256)]
    public int TorchThreads { get; set; }

    /// <summary>A job whose training process crashed this many times in a row without a new checkpoint fails.</summary>
    [Range(1, 100)]
    public int MaxCrashes { get; set; } = 3;

    /// <summary>Wait before retrying a crashed job; doubles with each crash in a row, at most 32 times this.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan CrashBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a training process may take to checkpoint and exit after SIGTERM before it gets SIGKILL.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Largest estimated memory of one job (<c>TrainingMemoryEstimate</c>), in bytes; a bigger job is refused when it is
    /// queued (400 naming the setting that makes it big). 0 (default): half of the machine's memory.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MaxJobMemoryBytes { get; set; }

    /// <summary>Extra environment variables of each training process (diagnostics and tests; GLIBC_TUNABLES is always set).</summary>
    public Dictionary<string, string> ChildEnvironment { get; set; } = [];

    /// <summary><see cref="MaxJobMemoryBytes"/>, or half the memory this process may use when it is 0.</summary>
    public long JobMemoryBudget => MaxJobMemoryBytes > 0 ? MaxJobMemoryBytes : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>The torch thread count a job's process uses (see <see cref="TorchThreads"/>).</summary>
    public int EffectiveTorchThreads(bool insideApi) =>
        TorchThreads > 0 ? TorchThreads : Math.Max(1, (Environment.ProcessorCount - (insideApi ? 1 : 0)) / Concurrency);

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

    /// <summary>Most requests (or generation streams) run together in one batch.</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// Most padded tokens in one batch and one RNN call (4096). Requests are grouped by length under this budget, so one
    /// long context does not pad 31 short ones; a context longer than the budget runs alone, read in chunks of this size.
    /// </summary>
    [Range(64, 1_000_000)]
    public int MaxBatchTokens { get; set; } = 4096;

    /// <summary>
    /// Bytes of hidden states kept per model version after recent contexts (64 MiB; 0 turns the cache off). A context
    /// that extends a cached one by k tokens costs k RNN steps; a generation whose prompt was read starts from its state.
    /// </summary>
    [Range(0, 1L << 40)]
    public long StateCacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How often the API process gives the C heap's freed memory back to the kernel (malloc_trim; 30 s, 0 never). The
    /// launchers' GLIBC_TUNABLES keep freed memory for training, which runs in its own processes; without this, the API's
    /// resident memory stays at the highest its heap ever reached (the soak in bench/RESULTS.md).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ReturnFreedMemoryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Generation streams live at once in this process over all models (64); one more gets 429 with Retry-After.</summary>
    [Range(1, 100000)]
    public int MaxLiveStreams { get; set; } = 64;

    /// <summary>
    /// Model versions loaded at once (3, as Ollama's default per device); loading one more unloads the least recently
    /// used idle version other than the default model, or answers 503 with Retry-After when all are busy.
    /// </summary>
    [Range(1, 1000)]
    public int MaxLoadedModels { get; set; } = 3;

    /// <summary>
    /// How long a version stays loaded after its last request unless the request says otherwise (<c>keepAlive</c>, as
    /// Ollama's <c>keep_alive</c>): 5 minutes; negative keeps it until unloaded. The default model is always kept loaded.
    /// </summary>
    [Range(typeof(TimeSpan), "-3650.00:00:00", "3650.00:00:00")]
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Longest an unload waits for the requests in flight (30 s); then the version is freed anyway and what still ran on
    /// it fails with 503 and Retry-After.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan UnloadTimeout { get; set; } = TimeSpan.FromSeconds(30);

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

    /// <summary>Largest dataset upload, in bytes (default 4 GB; datasets are prepared into memory-mapped token files, so size is bounded by disk).</summary>
    [Range(1024, 1L << 40)]
    public long MaxUploadBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>Largest model archive accepted by <c>POST /api/models/import</c>: the sum of its members' sizes (default 2 GB).</summary>
    [Range(1024, 1L << 40)]
    public long MaxImportBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>How often the registry polls the store for new model versions.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ModelPollInterval { get; set; } = TimeSpan.FromSeconds(2);
}
