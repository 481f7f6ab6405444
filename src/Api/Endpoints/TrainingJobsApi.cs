using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using RnnLmService.Api.Contracts;
using RnnLmService.Core;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
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
        group.MapPost("/", CreateAsync).WithName("CreateTrainingJob")
            .WithSummary("Queue a training job")
            .WithDescription("Body (application/json, CreateTrainingJobRequest): datasetId, modelName, optional priority, promote, uniqueKey, "
                + "and hyperparameters in tokenizer {kind, lowercase, splitPunctuation, maxVocabularySize, minCount}, model {cellType, "
                + "embeddingSize, hiddenSize, layers, dropout, tieWeights} and training {optimizer, learningRate, annealFactor, clip, "
                + "weightDecay, epochs, batchSize, evalBatchSize, bptt, patience, seed}; anything left out takes the engine's default. "
                + "Every value is checked with its range (400 naming the field); answers 202 with Location of the queued job.")
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        group.MapGet("/", ListAsync).WithName("ListTrainingJobs")
            .WithSummary("List training jobs")
            .WithDescription("Jobs, newest first; filter with status (queued, running, succeeded, failed, cancelled), page with offset and limit (1-500).");
        group.MapGet("/{id}", GetAsync).WithName("GetTrainingJob")
            .WithSummary("Get a training job")
            .WithDescription("Status and progress: epoch, step, total steps, train loss, validation perplexity and the best so far, tokens/s, "
                + "elapsed and ETA; when finished the model version it produced and its test perplexity, or the failure reason.");
        group.MapGet("/{id}/events", EventsAsync).WithName("GetTrainingJobEvents")
            .WithSummary("Follow a training job's events")
            .WithDescription("With Accept: text/event-stream, Server-Sent Events (event name = type, id = cursor, data = payload) that end after "
                + "the terminal status; Last-Event-ID resumes. Otherwise JSON: the events after the cursor ?after= (default 0), at most limit.");
        group.MapPost("/{id}/cancel", CancelAsync).WithName("CancelTrainingJob")
            .WithSummary("Cancel a training job")
            .WithDescription("A queued job is cancelled at once; a running one is flagged and its worker stops it within seconds (202 either way). "
                + "A finished job answers 409.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex ModelNamePattern();

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

    private static async Task<Results<Accepted<JobResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpRequest request, JobStore jobs, DatasetStore datasets, TimeProvider clock, CancellationToken ct)
    {
        if (!request.HasJsonContentType())
            return ApiProblems.UnsupportedMediaType("Send the job as application/json.");
        CreateTrainingJobRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<CreateTrainingJobRequest>(request.Body, JobSpecJson.Options, ct);
        }
        catch (JsonException e)
        {
            var (field, reason) = DescribeJsonError(e);
            return ApiProblems.Invalid(field, reason);
        }
        if (body is null) return ApiProblems.Invalid("body", "The JSON body is empty.");

        if (string.IsNullOrEmpty(body.ModelName) || !ModelNamePattern().IsMatch(body.ModelName))
            return ApiProblems.Invalid("modelName",
                "modelName must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit (no path characters).");
        if (body.Priority is < -1000 or > 1000) return ApiProblems.Invalid("priority", $"priority must be between -1000 and 1000 (was {body.Priority}).");
        if (body.UniqueKey is { Length: > 200 }) return ApiProblems.Invalid("uniqueKey", "uniqueKey is longer than 200 characters.");
        if (string.IsNullOrWhiteSpace(body.DatasetId)) return ApiProblems.Invalid("datasetId", "datasetId is required.");
        var dataset = await datasets.GetAsync(body.DatasetId, ct);
        if (dataset is null) return ApiProblems.Invalid("datasetId", $"There is no dataset '{body.DatasetId}'.");

        var spec = new TrainingSpec
        {
            Tokenizer = body.Tokenizer ?? new TokenizerOptions(),
            Model = body.Model ?? new ModelOptions(),
            Training = body.Training ?? new TrainingOptions(),
        };
        try
        {
            spec.Validate();
            CheckFitsDataset(spec, dataset);
        }
        catch (InvalidSettingException e) { return ApiProblems.Invalid(e.Field, e.Reason); }

        var job = await jobs.EnqueueAsync(new NewTrainingJob(body.ModelName, dataset.Id, JobSpecJson.Serialize(spec), body.Priority, body.Promote, body.UniqueKey), ct);
        return TypedResults.Accepted($"/api/training-jobs/{job.Id}", ToResponse(job, clock.GetUtcNow().UtcDateTime));
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

    /// <summary>The field a JSON error is about (the unknown member, or the last path segment) and a reason without .NET type names.</summary>
    private static (string Field, string Reason) DescribeJsonError(JsonException e)
    {
        var unmapped = Regex.Match(e.Message, "The JSON property '([^']+)' could not be mapped");
        if (unmapped.Success) return (unmapped.Groups[1].Value, $"'{unmapped.Groups[1].Value}' is not a known setting.");
        var path = e.Path?.TrimStart('$').TrimStart('.') ?? "";
        var field = path.Length == 0 ? "body" : path[(path.LastIndexOf('.') + 1)..];
        return (field, path.Length == 0
            ? "The body is not valid JSON."
            : $"'{path}' has a value of the wrong type or an unknown name (enums: tokenizer.kind word|character|bpe; model.cellType lstm|gru|rnnTanh; training.optimizer sgd|adam|adamW).");
    }

    private static async Task<Results<Ok<JobList>, ValidationProblem>> ListAsync(JobStore jobs, TimeProvider clock, string? status, int? offset, int? limit, CancellationToken ct)
    {
        JobStatus? filter = null;
        if (status is not null)
        {
            if (!JobStatuses.TryParse(status, out var s))
                return ApiProblems.Invalid("status", "status must be one of queued, running, succeeded, failed, cancelled.");
            filter = s;
        }
        var (o, l) = (offset ?? 0, limit ?? 50);
        if (o < 0) return ApiProblems.Invalid("offset", "offset must be 0 or more.");
        if (l is < 1 or > 500) return ApiProblems.Invalid("limit", "limit must be between 1 and 500.");
        var page = await jobs.ListAsync(filter, o, l, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        return TypedResults.Ok(new JobList { Items = page.Items.Select(j => ToResponse(j, now)).ToList(), Total = page.Total, Offset = o, Limit = l });
    }

    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetAsync(string id, JobStore jobs, TimeProvider clock, CancellationToken ct) =>
        await jobs.GetAsync(id, ct) is { } job
            ? TypedResults.Ok(ToResponse(job, clock.GetUtcNow().UtcDateTime))
            : ApiProblems.NotFound($"There is no training job '{id}'.");

    private static async Task<Results<Accepted<JobResponse>, ProblemHttpResult>> CancelAsync(string id, JobStore jobs, TimeProvider clock, CancellationToken ct)
    {
        try
        {
            var job = await jobs.RequestCancelAsync(id, ct);
            return TypedResults.Accepted($"/api/training-jobs/{id}", ToResponse(job, clock.GetUtcNow().UtcDateTime));
        }
        catch (NotFoundException e) { return ApiProblems.NotFound(e.Message); }
        catch (ConflictException e) { return ApiProblems.Conflict(e.Message); }
    }

    private static async Task<Results<ServerSentEventsResult<JsonElement>, Ok<JobEventList>, ProblemHttpResult, ValidationProblem>> EventsAsync(
        string id, HttpContext http, JobStore jobs, long? after, int? limit, CancellationToken ct)
    {
        if (await jobs.GetAsync(id, ct) is null) return ApiProblems.NotFound($"There is no training job '{id}'.");
        if (after is < 0) return ApiProblems.Invalid("after", "after must be 0 or more.");
        var cursor = after ?? 0;

        if (http.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true))
        {
            // A reconnecting EventSource sends the last id it saw.
            if (long.TryParse(http.Request.Headers["Last-Event-ID"].ToString(), out var last) && last > cursor) cursor = last;
            return TypedResults.ServerSentEvents(Stream(id, cursor, jobs, ct));
        }

        var l = limit ?? 500;
        if (l is < 1 or > 5000) return ApiProblems.Invalid("limit", "limit must be between 1 and 5000.");
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
