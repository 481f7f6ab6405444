using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Contracts;

/// <summary>A training job: the dataset, the model name, and hyperparameters (anything left out takes the engine's default).</summary>
public sealed record CreateTrainingJobRequest
{
    /// <summary>The dataset to train on (from <c>POST /api/datasets</c>).</summary>
    /// <example>01a21fb3047a7dc3a7714047bafa6061</example>
    public string? DatasetId { get; init; }

    /// <summary>The model name the version is registered under: 1-64 of a-z 0-9 . _ -, starting with a letter or digit.</summary>
    /// <example>kjv-lstm</example>
    public string? ModelName { get; init; }

    /// <summary>Higher runs first (-1000..1000); equal priorities run oldest first.</summary>
    /// <example>0</example>
    public int Priority { get; init; }

    /// <summary>Make the produced version the default model on success.</summary>
    /// <example>false</example>
    public bool Promote { get; init; }

    /// <summary>Optional idempotency key: a second request with the same key returns the first job.</summary>
    /// <example>nightly-2026-11-28</example>
    public string? UniqueKey { get; init; }

    /// <summary>A preset from <c>GET /api/presets</c> (classic, fast, quality): its settings apply, then this job's own fields override them.</summary>
    /// <example>fast</example>
    public string? Preset { get; init; }

    /// <summary>Warm start: the model version to continue from, <c>name@version</c>, or <c>name</c> for the version it resolves to when
    /// the job is queued (recorded as <c>name@version</c> in the job's spec). The job keeps that version's tokenizer, vocabulary
    /// and architecture (leave <c>tokenizer</c> and <c>model</c> out: a field that differs is a 400 naming it; a preset's tokenizer
    /// and model settings give way) and trains on the new dataset from its weights; words outside its vocabulary read as &lt;unk&gt;.</summary>
    /// <example>kjv@1</example>
    public string? Init { get; init; }

    /// <summary>How text becomes tokens (kind word|character|bpe, lowercase, splitPunctuation, maxVocabularySize, minCount; vocabularySize for bpe).</summary>
    public TokenizerOptions? Tokenizer { get; init; }

    /// <summary>The architecture (cellType lstm|gru|rnnTanh, embeddingSize, hiddenSize, layers, dropout, tieWeights; AWD-LSTM
    /// regularisation: weightDrop, embeddingDropout, lockedDropout with inputDropout, hiddenDropout, outputDropout; adaptive softmax: adaptiveSoftmaxCutoffs, adaptiveSoftmaxDivValue).</summary>
    public ModelOptions? Model { get; init; }

    /// <summary>The recipe (optimizer sgd|adam|adamW|ntAsgd, learningRate (default per optimizer: sgd 20, ntAsgd 30, adam/adamW 0.002),
    /// annealFactor, clip, weightDecay, epochs, batchSize, evalBatchSize, bptt, patience, seed; schedule plateau|cosine, warmupSteps,
    /// minLearningRateFraction, gradientAccumulation, variableBptt, maxSteps, maxMinutes, activationRegularization,
    /// temporalActivationRegularization, nonmonoInterval).</summary>
    public TrainingOptions? Training { get; init; }
}

/// <summary>A job's latest numbers.</summary>
public sealed record JobProgressResponse
{
    /// <summary>The current (1-based) epoch; 0 before the first report.</summary>
    /// <example>2</example>
    public int Epoch { get; init; }

    /// <summary>Epochs the job runs unless it stops early.</summary>
    /// <example>6</example>
    public int TotalEpochs { get; init; }

    /// <summary>Training steps done (all epochs, including before a resume).</summary>
    /// <example>1200</example>
    public long Step { get; init; }

    /// <summary>Steps of the whole run.</summary>
    /// <example>3600</example>
    public long TotalSteps { get; init; }

    /// <summary>Mean training loss (nats per token) of the last report.</summary>
    /// <example>5.12</example>
    public double? TrainLoss { get; init; }

    /// <summary>Validation perplexity after the last finished epoch.</summary>
    /// <example>180.4</example>
    public double? ValidPerplexity { get; init; }

    /// <summary>Best validation perplexity so far.</summary>
    /// <example>175.9</example>
    public double? BestValidPerplexity { get; init; }

    /// <summary>Training throughput of the last report.</summary>
    /// <example>5400</example>
    public double? TokensPerSecond { get; init; }

    /// <summary>The current learning rate.</summary>
    /// <example>20</example>
    public double? LearningRate { get; init; }

    /// <summary>Seconds since the job first started (to its end once finished).</summary>
    /// <example>95.2</example>
    public double? ElapsedSeconds { get; init; }

    /// <summary>Estimated seconds left while running, from the training time per step so far.</summary>
    /// <example>190.4</example>
    public double? EtaSeconds { get; init; }
}

/// <summary>The model version a job produced.</summary>
public sealed record JobModelResponse
{
    /// <summary>The model name.</summary>
    /// <example>kjv-lstm</example>
    public required string Name { get; init; }

    /// <summary>The version number.</summary>
    /// <example>3</example>
    public int Version { get; init; }

    /// <summary>The address for inference, <c>name@version</c>.</summary>
    /// <example>kjv-lstm@3</example>
    public required string Ref { get; init; }
}

/// <summary>A training job with its status and progress.</summary>
public sealed record JobResponse
{
    /// <summary>The job's id.</summary>
    /// <example>01a21fb3047a7dc3a7714047bafa6061</example>
    public required string Id { get; init; }

    /// <summary><c>queued</c>, <c>running</c>, <c>succeeded</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    /// <example>running</example>
    public required string Status { get; init; }

    /// <summary>The model name the version is registered under.</summary>
    /// <example>kjv-lstm</example>
    public required string ModelName { get; init; }

    /// <summary>The dataset trained on.</summary>
    /// <example>01a21f9fdb9f7c168650e05f0b3bafb8</example>
    public required string DatasetId { get; init; }

    /// <summary>Higher runs first.</summary>
    /// <example>0</example>
    public int Priority { get; init; }

    /// <summary>Whether the version becomes the default model on success.</summary>
    /// <example>false</example>
    public bool Promote { get; init; }

    /// <summary>When the job was queued (UTC).</summary>
    /// <example>2026-11-28T00:40:00Z</example>
    public DateTime CreatedAt { get; init; }

    /// <summary>When a worker first started it (UTC).</summary>
    /// <example>2026-11-28T00:40:02Z</example>
    public DateTime? StartedAt { get; init; }

    /// <summary>When it finished (UTC).</summary>
    /// <example>2026-11-28T00:45:10Z</example>
    public DateTime? FinishedAt { get; init; }

    /// <summary>How many times a worker claimed it (a resume after a restart or crash counts).</summary>
    /// <example>1</example>
    public int Attempts { get; init; }

    /// <summary>Whether a cancel was asked for (a running job stops at its worker's next heartbeat).</summary>
    /// <example>false</example>
    public bool CancelRequested { get; init; }

    /// <summary>The latest numbers.</summary>
    public required JobProgressResponse Progress { get; init; }

    /// <summary>Where the last resume from a checkpoint started, if the job resumed.</summary>
    /// <example>epoch 2, step 140</example>
    public string? ResumedFrom { get; init; }

    /// <summary>Why the job failed (a message, never a stack trace).</summary>
    /// <example>batchSize: 40 tokens cannot fill 64 streams of at least 2 tokens; use a smaller batchSize or more text.</example>
    public string? FailureReason { get; init; }

    /// <summary>The model version it produced, once succeeded.</summary>
    public JobModelResponse? ProducedModel { get; init; }

    /// <summary>Test perplexity of the produced model.</summary>
    /// <example>162.7</example>
    public double? TestPerplexity { get; init; }

    /// <summary>The validated hyperparameters: <c>tokenizer</c>, <c>model</c>, <c>training</c>.</summary>
    /// <example>{"tokenizer":{"kind":"Word","maxVocabularySize":10000},"model":{"cellType":"lstm","embeddingSize":200,"hiddenSize":200,"layers":2},"training":{"optimizer":"sgd","learningRate":20,"epochs":6,"batchSize":20,"bptt":35}}</example>
    public JsonElement Spec { get; init; }
}

/// <summary>A page of jobs, newest first.</summary>
public sealed record JobList
{
    /// <summary>The jobs of this page.</summary>
    public required IReadOnlyList<JobResponse> Items { get; init; }

    /// <summary>All jobs matching the filter.</summary>
    /// <example>12</example>
    public int Total { get; init; }

    /// <summary>Jobs skipped before this page.</summary>
    /// <example>0</example>
    public int Offset { get; init; }

    /// <summary>Most jobs on a page.</summary>
    /// <example>50</example>
    public int Limit { get; init; }
}

/// <summary>One event of a job's history.</summary>
public sealed record JobEventResponse
{
    /// <summary>The cursor: pass it as <c>after</c> to get the events that follow (also the SSE id).</summary>
    /// <example>42</example>
    public long Id { get; init; }

    /// <summary>When it happened (UTC).</summary>
    /// <example>2026-11-28T00:41:00Z</example>
    public DateTime Time { get; init; }

    /// <summary><c>status</c>, <c>progress</c>, <c>resumed</c>, <c>checkpoint</c> or <c>log</c> (also the SSE event name).</summary>
    /// <example>progress</example>
    public required string Type { get; init; }

    /// <summary>The payload: a status ({status, reason?, model?}), progress numbers, or where a resume or checkpoint is ({epoch, step}).</summary>
    /// <example>{"status":"running","attempt":1,"workerId":"host/4242/1a2b3c4d"}</example>
    public JsonElement Data { get; init; }
}

/// <summary>Events after a cursor, oldest first.</summary>
public sealed record JobEventList
{
    /// <summary>The events.</summary>
    public required IReadOnlyList<JobEventResponse> Items { get; init; }

    /// <summary>The cursor to ask after next time.</summary>
    /// <example>57</example>
    public long Next { get; init; }

    /// <summary>Whether these events include the job's terminal status.</summary>
    /// <example>false</example>
    public bool Finished { get; init; }
}
