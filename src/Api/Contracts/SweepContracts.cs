using System.Text.Json;

namespace RnnLmService.Api.Contracts;

/// <summary>A sweep: one ordinary training job per point of a grid over job fields.</summary>
public sealed record CreateSweepRequest
{
    /// <summary>The sweep's name: its points' models are named <c>{name}-{point}</c> (point 0, 1, ...), so the same rule as a model name applies to them.</summary>
    /// <example>bptt-sweep</example>
    public string? Name { get; init; }

    /// <summary>The dataset every point trains on (from <c>POST /api/datasets</c>).</summary>
    /// <example>01a21fb3047a7dc3a7714047bafa6061</example>
    public string? DatasetId { get; init; }

    /// <summary>
    /// The fields every point starts from: a training job (CreateTrainingJobRequest: preset, init, tokenizer, model, training, priority)
    /// without datasetId, modelName, uniqueKey or promote, which the sweep sets.
    /// </summary>
    /// <example>{"preset": "fast", "training": {"maxMinutes": 5}}</example>
    public JsonElement? Base { get; init; }

    /// <summary>
    /// Field path → list of values; a point is each combination (the first path varies slowest). Paths: <c>preset</c> and any
    /// <c>tokenizer.*</c>, <c>model.*</c>, <c>training.*</c> setting, e.g. <c>tokenizer.maxVocabularySize</c>, <c>training.bptt</c>,
    /// <c>model.embeddingSize</c>, <c>model.hiddenSize</c>, <c>model.dropout</c>. At most <c>RnnLm:Limits:MaxSweepPoints</c> points.
    /// </summary>
    /// <example>{"training.bptt": [35, 70], "model.embeddingSize": [128, 256]}</example>
    public JsonElement? Grid { get; init; }
}

/// <summary>One row of a sweep's comparison table (null: not measured or not recorded yet).</summary>
public sealed record SweepRowResponse
{
    /// <summary>The point's 0-based index.</summary>
    /// <example>2</example>
    public int Point { get; init; }

    /// <summary>The point's grid values, path → value.</summary>
    /// <example>{"training.bptt": 70, "model.embeddingSize": 128}</example>
    public JsonElement Values { get; init; }

    /// <summary>The point's training job (<c>GET /api/training-jobs/{id}</c>).</summary>
    /// <example>01a21fb3047a7dc3a7714047bafa6061</example>
    public required string JobId { get; init; }

    /// <summary>The job's status.</summary>
    /// <example>succeeded</example>
    public required string Status { get; init; }

    /// <summary>The model name the point trains: <c>{sweep name}-{point}</c>.</summary>
    /// <example>bptt-sweep-2</example>
    public required string ModelName { get; init; }

    /// <summary>The version it produced, <c>name@version</c>, once succeeded.</summary>
    /// <example>bptt-sweep-2@1</example>
    public string? Model { get; init; }

    /// <summary>Whether this is the sweep's best point (lowest validation perplexity among succeeded points).</summary>
    /// <example>true</example>
    public bool Best { get; init; }

    /// <summary>Best validation perplexity (the kept model's; while running, the best so far).</summary>
    /// <example>171.2</example>
    public double? ValidPerplexity { get; init; }

    /// <summary>Test perplexity of the produced model.</summary>
    /// <example>162.7</example>
    public double? TestPerplexity { get; init; }

    /// <summary>Bits per character of the test text, when the model's metrics record it.</summary>
    /// <example>2.31</example>
    public double? BitsPerCharacter { get; init; }

    /// <summary>Perplexity per word of the test text, when the model's metrics record it.</summary>
    /// <example>180.5</example>
    public double? WordPerplexity { get; init; }

    /// <summary>Trainable parameters, when the model's metrics record them.</summary>
    /// <example>2650000</example>
    public long? Parameters { get; init; }

    /// <summary>Bytes of those parameters, when the model's metrics record them.</summary>
    /// <example>10600000</example>
    public long? ModelBytes { get; init; }

    /// <summary>Mean training tokens per second of the run (the latest report while running).</summary>
    /// <example>5400</example>
    public double? TokensPerSecond { get; init; }

    /// <summary>Seconds of training.</summary>
    /// <example>295.1</example>
    public double? TrainingSeconds { get; init; }

    /// <summary>
    /// Median milliseconds of a next-word call (top 10) on the loaded model through this server's serving path, measured at the first
    /// <c>GET /api/sweeps/{id}</c> after all the sweep's jobs ended (one warm-up and five timed calls on lines of the dataset's test split) and kept.
    /// </summary>
    /// <example>3.8</example>
    public double? NextWordLatencyMs { get; init; }

    /// <summary>Why the job failed (a message, never a stack trace).</summary>
    /// <example>batchSize: 40 tokens cannot fill 64 streams of at least 2 tokens; use a smaller batchSize or more text.</example>
    public string? FailureReason { get; init; }
}

/// <summary>A sweep without its table (the list's items).</summary>
public sealed record SweepSummaryResponse
{
    /// <summary>The sweep's id.</summary>
    /// <example>01a21fb3047a7dc3a7714047bafa6061</example>
    public required string Id { get; init; }

    /// <summary>Its name (the prefix of its models' names).</summary>
    /// <example>bptt-sweep</example>
    public required string Name { get; init; }

    /// <summary>The dataset its points train on.</summary>
    /// <example>01a21f9fdb9f7c168650e05f0b3bafb8</example>
    public required string DatasetId { get; init; }

    /// <summary><c>queued</c> (all jobs queued), <c>running</c> (some have not ended), else <c>succeeded</c> (all did), <c>cancelled</c> (some were) or <c>failed</c>.</summary>
    /// <example>running</example>
    public required string Status { get; init; }

    /// <summary>How many points (jobs) it has.</summary>
    /// <example>4</example>
    public int Points { get; init; }

    /// <summary>Its jobs per status (statuses with none left out).</summary>
    /// <example>{"succeeded": 2, "running": 1, "queued": 1}</example>
    public required IReadOnlyDictionary<string, int> Jobs { get; init; }

    /// <summary>The grid as read: path → values.</summary>
    /// <example>{"training.bptt": [35, 70], "model.embeddingSize": [128, 256]}</example>
    public JsonElement Grid { get; init; }

    /// <summary>When it was created (UTC).</summary>
    /// <example>2026-12-03T14:00:00Z</example>
    public DateTime CreatedAt { get; init; }
}

/// <summary>A sweep with its comparison table.</summary>
public sealed record SweepResponse
{
    /// <summary>The sweep.</summary>
    public required SweepSummaryResponse Sweep { get; init; }

    /// <summary>The base job fields as sent.</summary>
    /// <example>{"preset": "fast", "training": {"maxMinutes": 5}}</example>
    public JsonElement Base { get; init; }

    /// <summary>The point with the lowest validation perplexity among the succeeded ones (null until one succeeds).</summary>
    /// <example>2</example>
    public int? BestPoint { get; init; }

    /// <summary>One row per point, in grid order.</summary>
    public required IReadOnlyList<SweepRowResponse> Rows { get; init; }
}

/// <summary>A page of sweeps, newest first.</summary>
public sealed record SweepList
{
    /// <summary>The sweeps of this page.</summary>
    public required IReadOnlyList<SweepSummaryResponse> Items { get; init; }

    /// <summary>All sweeps.</summary>
    /// <example>3</example>
    public int Total { get; init; }

    /// <summary>Sweeps skipped before this page.</summary>
    /// <example>0</example>
    public int Offset { get; init; }

    /// <summary>Most sweeps on a page.</summary>
    /// <example>50</example>
    public int Limit { get; init; }
}
