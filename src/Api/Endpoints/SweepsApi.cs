using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Hosting;
using RnnLmService.Api.Security;
using RnnLmService.Api.Serving;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Keys;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Storage.Sweeps;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Endpoints;

/// <summary>
/// <c>/api/sweeps</c>: queue one ordinary training job per point of a grid over job fields (any worker runs them, so
/// several run a sweep in parallel), list sweeps, get one with its comparison table, cancel its jobs.
/// </summary>
public static class SweepsApi
{
    /// <summary>Job fields a sweep sets itself, so its base may not.</summary>
    private static readonly string[] SetBySweep = ["datasetId", "modelName", "uniqueKey"];

    public static IEndpointRouteBuilder MapSweepsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/sweeps").WithTags("Sweeps")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateAsync).WithName("CreateSweep").RequireApiRole(ApiKeyRoles.Train).WithSubmissionLimits()
            .WithSummary("Queue a sweep")
            .WithDescription("Body (application/json, CreateSweepRequest): name, datasetId, base (a training job's fields: preset, tokenizer, "
                + "model, training, priority) and grid (job field path → values, e.g. training.bptt, model.embeddingSize, tokenizer.maxVocabularySize, "
                + "model.hiddenSize, model.dropout, preset). Every point is checked exactly as POST /api/training-jobs checks a job (a bad point "
                + "is a 400 naming points[i].field, and nothing is queued); then one ordinary job per point, with model {name}-{point}, is queued "
                + "with the sweep in one transaction. Answers 202 with Location of the sweep.")
            .WithDocumentedBody(typeof(CreateSweepRequest), jsonExample: """
                {"name": "bptt-sweep", "datasetId": "01a21fb3047a7dc3a7714047bafa6061",
                 "base": {"preset": "fast", "training": {"maxMinutes": 5}},
                 "grid": {"training.bptt": [35, 70], "model.embeddingSize": [128, 256]}}
                """)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapGet("/", ListAsync).WithName("ListSweeps").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("List sweeps")
            .WithDescription("Sweeps, newest first, with their status and jobs per status; page with offset and limit (1-500).");
        group.MapGet("/{id}", GetAsync).WithName("GetSweep").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("Get a sweep and its comparison table")
            .WithDescription("One row per point: its values, job id and status, validation and test perplexity, bits per character, parameters, "
                + "model bytes (those three when the model's metrics record them), tokens/s, training time and next-word latency (measured on "
                + "this server at the first read after all the sweep's jobs ended, then kept), and which point is best on validation perplexity.");
        group.MapPost("/{id}/cancel", CancelAsync).WithName("CancelSweep").RequireApiRole(ApiKeyRoles.Train)
            .WithSummary("Cancel a sweep")
            .WithDescription("Cancels every job of the sweep that has not ended: queued ones at once, running ones within seconds (202). "
                + "A sweep whose jobs have all ended answers 409.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Accepted<SweepResponse>> CreateAsync(HttpRequest request, JobStore jobs, SweepStore sweeps, DatasetStore datasets,
        ModelVersionStore versions, IArtifactStore artifacts, IOptions<RnnLmOptions> options, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<CreateSweepRequest>(request, JobSpecJson.Options, ct);

        var limits = options.Value.Limits;
        var (sweep, points) = await PlanAsync(body, datasets, versions, artifacts, options.Value, ct);
        var caller = RateLimits.LimitedCaller(request.HttpContext);
        await TrainingJobsApi.CheckQueueRoomAsync(jobs, limits, caller, ct, adding: points.Count);
        var created = await sweeps.CreateAsync(sweep, points.Select(p => p with { Job = p.Job with { SubmittedBy = caller } }).ToList(), ct);   // the key's queued jobs
        return TypedResults.Accepted($"/api/sweeps/{created.Sweep.Id}", ToResponse(created));
    }

    /// <summary>Checks the name, base and grid, then every point as a job; nothing is queued unless all pass.</summary>
    private static async Task<(NewSweep Sweep, List<NewSweepPoint> Points)> PlanAsync(
        CreateSweepRequest body, DatasetStore datasets, ModelVersionStore versions, IArtifactStore artifacts, RnnLmOptions options, CancellationToken ct)
    {
        var name = ModelNames.Check(body.Name, "name");
        var datasetId = string.IsNullOrWhiteSpace(body.DatasetId) ? throw new InvalidSettingException("datasetId", "datasetId is required.") : body.DatasetId;
        _ = await datasets.GetAsync(datasetId, ct)
            ?? throw new InvalidSettingException("datasetId", $"There is no dataset '{ModelNames.Shorten(datasetId)}'. GET /api/datasets lists the datasets.");
        var baseJob = body.Base is not { } b || b.ValueKind == JsonValueKind.Null ? new JsonObject()
            : JsonNode.Parse(b.GetRawText()) as JsonObject ?? throw new InvalidSettingException("base", "base must be an object of training job fields.");
        foreach (var (key, value) in baseJob)
        {
            if (SetBySweep.FirstOrDefault(f => string.Equals(f, key, StringComparison.OrdinalIgnoreCase)) is { } set)
                throw new InvalidSettingException($"base.{set}", $"base.{set} is set by the sweep: the dataset is the sweep's datasetId and each point's model is named {name}-{{point}}.");
            if (string.Equals(key, "promote", StringComparison.OrdinalIgnoreCase) && value is JsonValue v && v.TryGetValue<bool>(out var promote) && promote)
                throw new InvalidSettingException("base.promote", "A sweep does not promote its models; promote the best point's model with PUT /api/models/{model}/default.");
        }
        var grid = SweepGrid.Parse(body.Grid is { } g ? JsonNode.Parse(g.GetRawText()) : null, options.Limits.MaxSweepPoints);
        InvalidSettingException.Check(ModelNames.IsValid($"{name}-{grid.Count - 1}"), "name",
            $"name is too long: the sweep's models are named {name}-0 to {name}-{grid.Count - 1}, at most {ModelNames.MaxLength} characters.");

        var points = new List<NewSweepPoint>(grid.Count);
        foreach (var point in grid.Points())
        {
            var job = point.ApplyTo(baseJob);
            job["datasetId"] = datasetId;
            job["modelName"] = $"{name}-{point.Index}";
            try
            {
                var checkedJob = await TrainingJobsApi.CheckJobAsync(job, datasets, versions, artifacts, options, ct);
                points.Add(new NewSweepPoint(point.ToJson().ToJsonString(), checkedJob));
            }
            catch (InvalidSettingException e)
            {
                var field = grid.PathOf(e.Field) ?? e.Field;
                throw new InvalidSettingException($"points[{point.Index}].{field}", $"Point {point.Index} ({point}): {e.Reason}");
            }
        }
        return (new NewSweep(name, datasetId, baseJob.ToJsonString(), grid.ToJson().ToJsonString()), points);
    }

    private static async Task<Ok<SweepList>> ListAsync(SweepStore sweeps, int? offset, int? limit, CancellationToken ct)
    {
        var (o, l) = (offset ?? 0, limit ?? 50);
        InvalidSettingException.Check(o >= 0, "offset", "offset must be 0 or more.");
        InvalidSettingException.Check(l is >= 1 and <= 500, "limit", "limit must be between 1 and 500.");
        var (items, total) = await sweeps.ListAsync(o, l, ct);
        return TypedResults.Ok(new SweepList
        {
            Items = items.Select(s => Summary(s.Sweep, s.Jobs, SweepComparison.StatusOf(s.Jobs))).ToList(), Total = total, Offset = o, Limit = l,
        });
    }

    private static NotFoundException SweepNotFound(string id) =>
        new($"There is no sweep '{ModelNames.Shorten(id)}'. GET /api/sweeps lists the sweeps.", "id", "sweep_not_found");

    private static async Task<Ok<SweepResponse>> GetAsync(string id, SweepStore sweeps, SweepLatencyProbe latency, CancellationToken ct)
    {
        var sweep = await sweeps.GetAsync(id, ct) ?? throw SweepNotFound(id);
        return TypedResults.Ok(ToResponse(await latency.MeasureMissingAsync(sweep, ct)));
    }

    private static async Task<Accepted<SweepResponse>> CancelAsync(string id, SweepStore sweeps, CancellationToken ct)
    {
        _ = await sweeps.GetAsync(id, ct) ?? throw SweepNotFound(id);
        return TypedResults.Accepted($"/api/sweeps/{id}", ToResponse(await sweeps.CancelAsync(id, ct)));
    }

    private static SweepSummaryResponse Summary(SweepRecord s, IReadOnlyDictionary<JobStatus, int> jobs, string status) => new()
    {
        Id = s.Id,
        Name = s.Name,
        DatasetId = s.DatasetId,
        Status = status,
        Points = s.Points,
        Jobs = jobs.Where(j => j.Value > 0).OrderBy(j => j.Key).ToDictionary(j => JobStatuses.ToText(j.Key), j => j.Value),
        Grid = JsonDocument.Parse(s.GridJson).RootElement.Clone(),
        CreatedAt = s.CreatedAt,
    };

    private static SweepResponse ToResponse(SweepView view)
    {
        var table = SweepComparison.Of(view);
        return new SweepResponse
        {
            Sweep = Summary(view.Sweep, table.Jobs, table.Status),
            Base = JsonDocument.Parse(view.Sweep.BaseJson).RootElement.Clone(),
            BestPoint = table.BestPoint,
            Rows = table.Rows.Select(r => new SweepRowResponse
            {
                Point = r.Index,
                Values = JsonSerializer.SerializeToElement(r.Values),
                JobId = r.Job.Id,
                Status = JobStatuses.ToText(r.Job.Status),
                ModelName = r.Job.ModelName,
                Model = r.ModelRef,
                Best = r.Index == table.BestPoint,
                ValidPerplexity = r.ValidPerplexity,
                TestPerplexity = r.TestPerplexity,
                BitsPerCharacter = r.BitsPerCharacter,
                WordPerplexity = r.WordPerplexity,
                Parameters = r.Parameters,
                ModelBytes = r.ModelBytes,
                TokensPerSecond = r.TokensPerSecond,
                TrainingSeconds = r.TrainingSeconds,
                NextWordLatencyMs = r.NextWordLatencyMs,
                FailureReason = r.Job.FailureReason,
            }).ToList(),
        };
    }
}
