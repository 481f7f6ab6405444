using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Hosting;
using RnnLmService.Api.Security;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Keys;
using RnnLmService.Core;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Endpoints;

/// <summary>
/// <c>/api/training-jobs</c>: queue a job (202 + Location), list and get with progress, follow its events (SSE, or
/// JSON after a cursor), cancel. The job runs on whichever worker claims it; the store is the only channel.
/// </summary>
public static partial class TrainingJobsApi
{
    private static readonly TimeSpan EventPoll = TimeSpan.FromMilliseconds(250);

    public static IEndpointRouteBuilder MapTrainingJobsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/training-jobs").WithTags("Training jobs")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateAsync).WithName("CreateTrainingJob").RequireApiRole(ApiKeyRoles.Train).WithSubmissionLimits()
            .WithSummary("Queue a training job")
            .WithDescription("Body (application/json, CreateTrainingJobRequest): datasetId, modelName, optional priority, promote, uniqueKey, "
                + "preset (a name from GET /api/presets whose settings the job's own fields override), "
                + "init (warm start: a model name@version, or a name for its current version, whose tokenizer, vocabulary, architecture and "
                + "weights the job continues from; a tokenizer or model field that differs is a 400 naming it), "
                + "and hyperparameters in tokenizer {kind, lowercase, splitPunctuation, maxVocabularySize, minCount}, model {cellType, "
                + "embeddingSize, hiddenSize, layers, dropout, tieWeights} and training {optimizer, learningRate, annealFactor, clip, "
                + "weightDecay, epochs, batchSize, evalBatchSize, bptt, patience, seed}; anything left out takes the engine's default. "
                + "Every value is checked with its range (400 naming the field); answers 202 with Location of the queued job.")
            .WithDocumentedBody(typeof(CreateTrainingJobRequest), jsonExample: """
                {"datasetId": "01a21fb3047a7dc3a7714047bafa6061", "modelName": "my-model", "promote": true,
                 "model": {"cellType": "lstm", "embeddingSize": 200, "hiddenSize": 200, "layers": 2, "dropout": 0.2},
                 "training": {"epochs": 6, "batchSize": 20, "bptt": 35, "learningRate": 20}}
                """)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        group.MapGet("/", ListAsync).WithName("ListTrainingJobs").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("List training jobs")
            .WithDescription("Jobs, newest first; filter with status (queued, running, succeeded, failed, cancelled), page with offset and limit (1-500).");
        group.MapGet("/{id}", GetAsync).WithName("GetTrainingJob").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("Get a training job")
            .WithDescription("Status and progress: epoch, step, total steps, train loss, validation perplexity and the best so far, tokens/s, "
                + "elapsed and ETA; when finished the model version it produced and its test perplexity, or the failure reason.");
        group.MapGet("/{id}/events", EventsAsync).WithName("GetTrainingJobEvents").RequireApiRole(ApiKeyRoles.Read).WithEventStreamLimit()
            .WithSummary("Follow a training job's events")
            .WithDescription("With Accept: text/event-stream, Server-Sent Events (event name = type, id = cursor, data = payload) that end after "
                + "the terminal status; Last-Event-ID resumes. Otherwise JSON: the events after the cursor ?after= (default 0), at most limit.");
        group.MapPost("/{id}/cancel", CancelAsync).WithName("CancelTrainingJob").RequireApiRole(ApiKeyRoles.Train)
            .WithSummary("Cancel a training job")
            .WithDescription("A queued job is cancelled at once; a running one is flagged and its worker stops it within seconds (202 either way). "
                + "A finished job answers 409.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    internal static JobResponse ToResponse(TrainingJobRecord j, DateTime now)
    {
        double? elapsed = j.StartedAt is { } s ? ((j.FinishedAt ?? now) - s).TotalSeconds : null;
        double? eta = j.Status == JobStatus.Running && j.Step > 0 && j.TotalSteps >= j.Step && j.RunSeconds > 0
            ? j.RunSeconds / j.Step * (j.TotalSteps - j.Step)
            : null;
        return new JobResponse
        {
            Id = j.Id,
            Status = JobStatuses.ToText(j.Status),
            ModelName = j.ModelName,
            DatasetId = j.DatasetId,
            Priority = j.Priority,
            Promote = j.Promote,
            CreatedAt = j.CreatedAt,
            StartedAt = j.StartedAt,
            FinishedAt = j.FinishedAt,
            Attempts = j.Attempts,
            CancelRequested = j.CancelRequested,
            Progress = new JobProgressResponse
            {
                Epoch = j.Epoch, TotalEpochs = j.TotalEpochs, Step = j.Step, TotalSteps = j.TotalSteps,
                TrainLoss = j.TrainLoss, ValidPerplexity = j.ValidPerplexity, BestValidPerplexity = j.BestValidPerplexity,
                TokensPerSecond = j.TokensPerSecond, LearningRate = j.LearningRate, ElapsedSeconds = elapsed, EtaSeconds = eta,
            },
            ResumedFrom = j.ResumedFrom,
            FailureReason = j.FailureReason,
            ProducedModel = j.ProducedModelName is { } n && j.ProducedModelVersion is { } v
                ? new JobModelResponse { Name = n, Version = v, Ref = $"{n}@{v}" }
                : null,
            TestPerplexity = j.TestPerplexity,
            Spec = JsonDocument.Parse(j.SpecJson).RootElement.Clone(),
        };
    }

    private static async Task<Accepted<JobResponse>> CreateAsync(
        HttpRequest request, JobStore jobs, DatasetStore datasets, ModelVersionStore versions, IArtifactStore artifacts,
        TimeProvider clock, IOptions<RnnLmOptions> options, CancellationToken ct)
    {
        var node = await JsonBody.ParseAsync(request, ct);
        var job = await CheckJobAsync(node, datasets, versions, artifacts, options.Value, ct);
        var caller = RateLimits.LimitedCaller(request.HttpContext);
        await CheckQueueRoomAsync(jobs, options.Value.Limits, caller, ct);
        var record = await jobs.EnqueueAsync(job with { SubmittedBy = caller }, ct);
        return TypedResults.Accepted($"/api/training-jobs/{record.Id}", ToResponse(record, clock.GetUtcNow().UtcDateTime));
    }

    /// <summary>
    /// Reads a job's fields (its preset under them) and checks every one as <c>POST /api/training-jobs</c> does — names,
    /// ranges, a warm start's parent (<c>init</c>), the dataset, fitting the dataset and the memory budget — so a sweep's points are checked the same way.
    /// Every check is collected, so one answer names all that is wrong with the job; nothing is written.
    /// </summary>
    internal static async Task<NewTrainingJob> CheckJobAsync(JsonNode? node, DatasetStore datasets, ModelVersionStore versions, IArtifactStore artifacts,
        RnnLmOptions options, CancellationToken ct)
    {
        CreateTrainingJobRequest body = null!;
        TrainingSpec spec = null!;
        DatasetRecord dataset = null!;
        string modelName = null!;
        await SettingErrors.CollectAsync(async () =>
        {
            // A warm start compares the job's own tokenizer and model fields with its parent's, not the preset's.
            var (ownTokenizer, ownModel) = (JobParents.OwnSection(node, "tokenizer"), JobParents.OwnSection(node, "model"));
            if (node is JsonObject fields && fields["preset"] is { } presetNode)
            {
                var name = presetNode.GetValueKind() == JsonValueKind.String ? presetNode.GetValue<string>() : null;
                if (name is null || TrainingPresets.Find(name) is not { } preset)
                {
                    InvalidSettingException.Check(false, "preset", $"preset must be one of {string.Join(", ", TrainingPresets.All.Select(p => p.Name))} (was {presetNode.ToJsonString()}).");
                    fields.Remove("preset");
                }
                else node = TrainingPresets.Apply(preset, fields);
            }
            if (node is null) throw new InvalidSettingException("body", "The body must be a JSON object (was null).");
            JsonBody.Check(node, typeof(CreateTrainingJobRequest), JobSpecJson.Options);
            body = node.Deserialize<CreateTrainingJobRequest>(JobSpecJson.Options)!;

            modelName = ModelNames.Check(body.ModelName, "modelName");
            InvalidSettingException.Check(body.Priority is >= -1000 and <= 1000, "priority", $"priority must be between -1000 and 1000 (was {body.Priority}).");
            InvalidSettingException.Check(body.UniqueKey is not { Length: > 200 }, "uniqueKey", "uniqueKey is longer than 200 characters.");
            spec = new TrainingSpec
            {
                Tokenizer = body.Tokenizer ?? new TokenizerOptions(),
                Model = body.Model ?? new ModelOptions(),
                Training = body.Training ?? new TrainingOptions(),
            };
            if (body.Init is { } init)
                spec = await JobParents.InheritAsync(spec, init, ownTokenizer, ownModel, versions, artifacts, ct) ?? spec;
            SettingErrors.Section("tokenizer", spec.Tokenizer.Validate);
            SettingErrors.Section("model", spec.Model.Validate);
            SettingErrors.Section("training", spec.Training.Validate);

            if (string.IsNullOrWhiteSpace(body.DatasetId))
            {
                InvalidSettingException.Check(false, "datasetId", "datasetId is required: the id field of a dataset from POST /api/datasets (GET /api/datasets lists them).");
                return;
            }
            dataset = (await datasets.GetAsync(body.DatasetId, ct))!;
            InvalidSettingException.Check(dataset is not null, "datasetId",
                $"There is no dataset '{ModelNames.Shorten(body.DatasetId)}'. GET /api/datasets lists the datasets (use the id field of one).");
            if (dataset is null) return;
            CheckFitsDataset(spec, dataset);
            CheckFitsMemory(spec, dataset, options.Worker.JobMemoryBudget);
        });
        return new NewTrainingJob(modelName, dataset.Id, JobSpecJson.Serialize(spec), body.Priority, body.Promote, body.UniqueKey);
    }

    /// <summary>
    /// 429 when <paramref name="adding"/> more jobs would pass <c>RnnLm:Limits:MaxQueuedJobs</c> queued jobs, or the caller (a
    /// key, or a client IP without one; null: the unlimited local user) would pass <c>RnnLm:Limits:QueuedJobsPerKey</c> (0: no bound).
    /// </summary>
    internal static async Task CheckQueueRoomAsync(JobStore jobs, LimitOptions limits, string? caller, CancellationToken ct, int adding = 1)
    {
        if (limits.MaxQueuedJobs > 0 && await jobs.CountQueuedAsync(ct: ct) is var queued && queued + adding > limits.MaxQueuedJobs)
            throw new RateLimitedException(adding == 1
                    ? $"{queued} jobs are already queued, the most the service takes (RnnLm:Limits:MaxQueuedJobs); retry when some have run."
                    : $"{queued} jobs are already queued and this adds {adding}, more than the {limits.MaxQueuedJobs} the service takes (RnnLm:Limits:MaxQueuedJobs); retry when some have run.",
                TimeSpan.FromSeconds(30), "too_many_queued_jobs");
        if (caller is not null && limits.QueuedJobsPerKey > 0 && await jobs.CountQueuedAsync(caller, ct) is var mine && mine + adding > limits.QueuedJobsPerKey)
            throw new RateLimitedException($"This key has {mine} jobs queued{(adding == 1 ? "" : $" and this adds {adding}")}, more than one key may have "
                + $"({limits.QueuedJobsPerKey}, RnnLm:Limits:QueuedJobsPerKey); retry when some have run, or cancel one (GET /api/training-jobs?status=queued lists them).",
                TimeSpan.FromSeconds(30), "too_many_queued_jobs");
    }

    /// <summary>
    /// Refuses what cannot fit for certain: even counting every byte and line end as a token, the training split
    /// cannot fill <c>batchSize</c> streams of 2 tokens, or valid/test cannot hold 2 tokens. The exact token count
    /// is checked when the job starts (a job that does not fit then fails naming the field).
    /// </summary>
    private static void CheckFitsDataset(TrainingSpec spec, DatasetRecord d)
    {
        var trainTokensAtMost = d.TrainBytes + d.TrainLines;
        InvalidSettingException.Check(trainTokensAtMost / Math.Max(1, spec.Training.BatchSize) >= 2, "training.batchSize",
            $"batchSize {spec.Training.BatchSize} is larger than the training split allows: it holds at most {trainTokensAtMost} tokens, fewer than 2 per stream.");
        InvalidSettingException.Check(d.ValidBytes + d.ValidLines >= 2, "datasetId", "The dataset's validation split is too small to evaluate (fewer than 2 tokens).");
        InvalidSettingException.Check(d.TestBytes + d.TestLines >= 2, "datasetId", "The dataset's test split is too small to evaluate (fewer than 2 tokens).");
    }

    /// <summary>
    /// Refuses a job whose estimated memory (<see cref="TrainingMemoryEstimate"/>) exceeds <c>RnnLm:Worker:MaxJobMemoryBytes</c>,
    /// naming the setting that makes it big, so it is never queued to be killed by the kernel.
    /// </summary>
    private static void CheckFitsMemory(TrainingSpec spec, DatasetRecord d, long budget)
    {
        var estimate = TrainingMemoryEstimate.Of(spec, d.Bytes, d.Words + d.Lines);
        if (estimate.Total <= budget) return;
        var field = estimate.LargestField(spec);
        InvalidSettingException.Check(false, field,
            $"The job would need about {Gib(estimate.Total)} of memory (weights with gradients and optimizer state {Gib(estimate.Weights)}, " +
            $"training activations {Gib(estimate.TrainingActivations)}, evaluation {Gib(estimate.EvaluationActivations)}, corpus {Gib(estimate.Corpus)}), " +
            $"more than the {Gib(budget)} a job may use (RnnLm:Worker:MaxJobMemoryBytes); {Remedy(spec, d, budget, field)}.");

        static string Gib(long bytes) => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB";
    }

    /// <summary>What to change: for a batch size, the largest that fits the budget with every other setting kept.</summary>
    private static string Remedy(TrainingSpec spec, DatasetRecord d, long budget, string field)
    {
        Func<int, TrainingSpec>? with = field switch
        {
            "training.batchSize" => b => spec with { Training = spec.Training with { BatchSize = b } },
            "training.evalBatchSize" => b => spec with { Training = spec.Training with { EvalBatchSize = b } },
            _ => null,
        };
        if (with is null) return $"lower {field}";
        bool Fits(int b) => TrainingMemoryEstimate.Of(with(b), d.Bytes, d.Words + d.Lines).Total <= budget;
        var current = field == "training.batchSize" ? spec.Training.BatchSize : spec.Training.EvalBatchSize;
        if (!Fits(1)) return $"even {field} 1 does not fit: lower model.hiddenSize, tokenizer.maxVocabularySize or training.bptt";
        int low = 1, high = current - 1; // low fits; find the largest that does
        while (low < high)
        {
            var mid = low + (high - low + 1) / 2;
            if (Fits(mid)) low = mid; else high = mid - 1;
        }
        var fitting = spec.Training.GradientAccumulation > 1 && field == "training.batchSize"
            ? low - low % spec.Training.GradientAccumulation : low;
        return fitting >= 1
            ? $"{field} {fitting} or less fits (was {current})"
            : $"lower {field} (at most {low} fits, and it must stay a multiple of training.gradientAccumulation {spec.Training.GradientAccumulation})";
    }

    private static async Task<Ok<JobList>> ListAsync(JobStore jobs, TimeProvider clock, string? status, int? offset, int? limit, CancellationToken ct)
    {
        JobStatus? filter = null;
        if (status is not null)
        {
            InvalidSettingException.Check(JobStatuses.TryParse(status, out var s), "status", "status must be one of queued, running, succeeded, failed, cancelled.");
            filter = s;
        }
        var (o, l) = (offset ?? 0, limit ?? 50);
        InvalidSettingException.Check(o >= 0, "offset", "offset must be 0 or more.");
        InvalidSettingException.Check(l is >= 1 and <= 500, "limit", "limit must be between 1 and 500.");
        var page = await jobs.ListAsync(filter, o, l, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        return TypedResults.Ok(new JobList { Items = page.Items.Select(j => ToResponse(j, now)).ToList(), Total = page.Total, Offset = o, Limit = l });
    }

    private static NotFoundException JobNotFound(string id) =>
        new($"There is no training job '{ModelNames.Shorten(id)}'. GET /api/training-jobs lists the jobs.", "id", "job_not_found");

    private static async Task<Ok<JobResponse>> GetAsync(string id, JobStore jobs, TimeProvider clock, CancellationToken ct) =>
        TypedResults.Ok(ToResponse(await jobs.GetAsync(id, ct) ?? throw JobNotFound(id), clock.GetUtcNow().UtcDateTime));

    private static async Task<Accepted<JobResponse>> CancelAsync(string id, JobStore jobs, TimeProvider clock, CancellationToken ct)
    {
        var job = await jobs.RequestCancelAsync(id, ct);
        return TypedResults.Accepted($"/api/training-jobs/{id}", ToResponse(job, clock.GetUtcNow().UtcDateTime));
    }

    private static async Task<Results<ServerSentEventsResult<JsonElement>, Ok<JobEventList>>> EventsAsync(
        string id, HttpContext http, JobStore jobs, long? after, int? limit, CancellationToken ct)
    {
        _ = await jobs.GetAsync(id, ct) ?? throw JobNotFound(id);
        InvalidSettingException.Check(after is null or >= 0, "after", "after must be 0 or more.");
        var cursor = after ?? 0;

        if (http.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true))
        {
            // A reconnecting EventSource sends the last id it saw.
            if (long.TryParse(http.Request.Headers["Last-Event-ID"].ToString(), out var last) && last > cursor) cursor = last;
            return TypedResults.ServerSentEvents(Stream(id, cursor, jobs, ct));
        }

        var l = limit ?? 500;
        InvalidSettingException.Check(l is >= 1 and <= 5000, "limit", "limit must be between 1 and 5000.");
        var events = await jobs.EventsAfterAsync(id, cursor, l, ct);
        var items = events.Select(ToResponse).ToList();
        return TypedResults.Ok(new JobEventList { Items = items, Next = items.Count > 0 ? items[^1].Id : cursor, Finished = items.Any(IsTerminal) });
    }

    /// <summary>Polls the store (the only channel between API and worker processes) and ends after a terminal status.</summary>
    private static async IAsyncEnumerable<SseItem<JsonElement>> Stream(string id, long cursor, JobStore jobs, [EnumeratorCancellation] CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            IReadOnlyList<JobEventRecord> batch;
            try { batch = await jobs.EventsAfterAsync(id, cursor, 500, ct); }
            catch (OperationCanceledException) { yield break; }
            foreach (var e in batch)
            {
                var item = ToResponse(e);
                cursor = e.Id;
                yield return new SseItem<JsonElement>(item.Data, e.Type) { EventId = e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                if (IsTerminal(item)) yield break;
            }
            if (batch.Count == 0)
            {
                // A job that finished before this stream's cursor: nothing more will come.
                if ((await jobs.GetAsync(id, ct))?.IsTerminal == true && (await jobs.EventsAfterAsync(id, cursor, 1, ct)).Count == 0) yield break;
                try { await Task.Delay(EventPoll, ct); }
                catch (OperationCanceledException) { yield break; }
            }
        }
    }

    private static JobEventResponse ToResponse(JobEventRecord e) => new()
    {
        Id = e.Id,
        Time = e.Time,
        Type = e.Type,
        Data = JsonDocument.Parse(e.PayloadJson).RootElement.Clone(),
    };

    private static bool IsTerminal(JobEventResponse e) =>
        e.Type == JobEventTypes.Status && e.Data.TryGetProperty("status", out var s)
        && s.GetString() is "succeeded" or "failed" or "cancelled";
}
