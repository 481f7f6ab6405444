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
                {"datasetId": "ds_0123456789abcdef", "modelName": "my-model", "promote": true,
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
        if (!request.HasJsonContentType())
            throw new UnsupportedMediaTypeException("Send the job as application/json.");
        CreateTrainingJobRequest? body;
        JsonObject? ownTokenizer, ownModel;
        try
        {
            var node = await JsonNode.ParseAsync(request.Body, cancellationToken: ct);
            (ownTokenizer, ownModel) = (JobParents.OwnSection(node, "tokenizer"), JobParents.OwnSection(node, "model"));
            if (node is JsonObject fields && fields["preset"] is { } presetNode)
            {
                var name = presetNode.GetValueKind() == JsonValueKind.String ? presetNode.GetValue<string>() : null;
                if (name is null || TrainingPresets.Find(name) is not { } preset)
                    throw new InvalidSettingException("preset", $"preset must be one of {string.Join(", ", TrainingPresets.All.Select(p => p.Name))} (was {presetNode.ToJsonString()}).");
                node = TrainingPresets.Apply(preset, fields);
            }
            body = node?.Deserialize<CreateTrainingJobRequest>(JobSpecJson.Options);
        }
        catch (JsonException e)
        {
            var (field, reason) = DescribeJsonError(e);
            throw new InvalidSettingException(field, reason);
        }
        if (body is null) throw new InvalidSettingException("body", "The JSON body is empty.");

        var modelName = ModelNames.Check(body.ModelName, "modelName");
        InvalidSettingException.Check(body.Priority is >= -1000 and <= 1000, "priority", $"priority must be between -1000 and 1000 (was {body.Priority}).");
        InvalidSettingException.Check(body.UniqueKey is not { Length: > 200 }, "uniqueKey", "uniqueKey is longer than 200 characters.");
        var datasetId = string.IsNullOrWhiteSpace(body.DatasetId) ? throw new InvalidSettingException("datasetId", "datasetId is required.") : body.DatasetId;
        var dataset = await datasets.GetAsync(datasetId, ct)
            ?? throw new InvalidSettingException("datasetId", $"There is no dataset '{ModelNames.Shorten(body.DatasetId)}'. GET /api/datasets lists the datasets.");

        var spec = new TrainingSpec
        {
            Tokenizer = body.Tokenizer ?? new TokenizerOptions(),
            Model = body.Model ?? new ModelOptions(),
            Training = body.Training ?? new TrainingOptions(),
        };
        if (body.Init is not null)
            spec = await JobParents.InheritAsync(spec, body.Init, ownTokenizer, ownModel, versions, artifacts, ct);
        spec.Validate();
        CheckFitsDataset(spec, dataset);
        CheckFitsMemory(spec, dataset, options.Value.Worker.JobMemoryBudget);

        await CheckQueueRoomAsync(jobs, options.Value.Limits.MaxQueuedJobs, ct);
        var job = await jobs.EnqueueAsync(new NewTrainingJob(modelName, dataset.Id, JobSpecJson.Serialize(spec), body.Priority, body.Promote, body.UniqueKey), ct);
        return TypedResults.Accepted($"/api/training-jobs/{job.Id}", ToResponse(job, clock.GetUtcNow().UtcDateTime));
    }

    /// <summary>429 when <c>RnnLm:Limits:MaxQueuedJobs</c> jobs are already queued (0: no bound).</summary>
    private static async Task CheckQueueRoomAsync(JobStore jobs, int max, CancellationToken ct)
    {
        if (max <= 0) return;
        var queued = (await jobs.ListAsync(JobStatus.Queued, 0, 1, ct)).Total;
        if (queued >= max)
            throw new RateLimitedException($"{queued} jobs are already queued, the most the service takes (RnnLm:Limits:MaxQueuedJobs); retry when some have run.",
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
        InvalidSettingException.Check(trainTokensAtMost / spec.Training.BatchSize >= 2, "batchSize",
            $"batchSize {spec.Training.BatchSize} is larger than the training split allows: it holds at most {trainTokensAtMost} tokens, fewer than 2 per stream.");
        InvalidSettingException.Check(d.ValidBytes + d.ValidLines >= 2, "valid", "The validation split is too small to evaluate (fewer than 2 tokens).");
        InvalidSettingException.Check(d.TestBytes + d.TestLines >= 2, "test", "The test split is too small to evaluate (fewer than 2 tokens).");
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
        throw new InvalidSettingException(field,
            $"The job would need about {Gib(estimate.Total)} of memory (weights with gradients and optimizer state {Gib(estimate.Weights)}, " +
            $"training activations {Gib(estimate.TrainingActivations)}, evaluation {Gib(estimate.EvaluationActivations)}, corpus {Gib(estimate.Corpus)}), " +
            $"more than the {Gib(budget)} a job may use (RnnLm:Worker:MaxJobMemoryBytes); lower {field}.");

        static string Gib(long bytes) => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB";
    }

    /// <summary>The field a JSON error is about (the unknown member, or the last path segment) and a reason without .NET type names.</summary>
    private static (string Field, string Reason) DescribeJsonError(JsonException e)
    {
        var unmapped = Regex.Match(e.Message, "The JSON property '([^']+)' could not be mapped");
        if (unmapped.Success) return (unmapped.Groups[1].Value, $"'{unmapped.Groups[1].Value}' is not a known setting.");
        var path = e.Path?.TrimStart('$').TrimStart('.') ?? "";
        var field = path.Length == 0 ? "body" : path[(path.LastIndexOf('.') + 1)..];
        return (field, path.Length == 0
            ? "The body is not valid JSON."
            : $"'{path}' has a value of the wrong type or an unknown name (enums: tokenizer.kind word|character; model.cellType lstm|gru|rnnTanh; training.optimizer sgd|adam|adamW|ntAsgd; training.schedule plateau|cosine).");
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
