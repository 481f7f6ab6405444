using System.Text.Json;
using System.Text.Json.Nodes;
using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Core.Storage.Sweeps;

/// <summary>One row of a sweep's comparison table: a point, its job, and what its model measured (null: not (yet) recorded).</summary>
public sealed record SweepRow
{
    public int Index { get; init; }
    /// <summary>The point's grid values, path → value.</summary>
    public required JsonObject Values { get; init; }
    public required TrainingJobRecord Job { get; init; }
    /// <summary><c>name@version</c> of the produced model.</summary>
    public string? ModelRef { get; init; }
    /// <summary>Best validation perplexity (the kept model's): what the best point is chosen on.</summary>
    public double? ValidPerplexity { get; init; }
    public double? TestPerplexity { get; init; }
    /// <summary>Bits per character of the test text, from the model's metrics when they record it.</summary>
    public double? BitsPerCharacter { get; init; }
    /// <summary>Perplexity per word of the test text, from the model's metrics when they record it.</summary>
    public double? WordPerplexity { get; init; }
    /// <summary>Trainable parameters, from the model's metrics when they record it.</summary>
    public long? Parameters { get; init; }
    /// <summary>Bytes of the parameters, from the model's metrics when they record it.</summary>
    public long? ModelBytes { get; init; }
    /// <summary>Mean training tokens/s of the run (the job's last report while it runs).</summary>
    public double? TokensPerSecond { get; init; }
    /// <summary>Seconds of training.</summary>
    public double? TrainingSeconds { get; init; }
    /// <summary>Median milliseconds of a next-word call on the model, once measured.</summary>
    public double? NextWordLatencyMs { get; init; }
}

/// <summary>A sweep's comparison table: a row per point, the best point on validation perplexity, and the sweep's status.</summary>
/// <param name="Rows">In grid order.</param>
/// <param name="BestPoint">The succeeded point with the lowest validation perplexity (the first on a tie), or null.</param>
/// <param name="Status"><c>queued</c> (all jobs queued), <c>running</c> (some not ended), else <c>succeeded</c> (all did), <c>cancelled</c> (some were), <c>failed</c>.</param>
/// <param name="Jobs">Jobs per status.</param>
public sealed record SweepComparison(IReadOnlyList<SweepRow> Rows, int? BestPoint, string Status, IReadOnlyDictionary<JobStatus, int> Jobs)
{
    // Metric names as model.json's metrics spell them, first the current name then older or alternative ones: the
    // table reads whichever a model's metrics have, so models written before a metric existed show null.
    private static readonly string[] BitsPerCharacterNames = ["testBitsPerCharacter", "bitsPerCharacter"];
    private static readonly string[] WordPerplexityNames = ["testWordPerplexity", "wordPerplexity"];
    private static readonly string[] ParameterNames = ["parameters", "parameterCount"];
    private static readonly string[] ModelBytesNames = ["parameterBytes", "modelBytes"];

    /// <summary>The table of a sweep as its jobs and model versions stand now.</summary>
    public static SweepComparison Of(SweepView view)
    {
        var rows = view.Points.Select(Row).ToList();
        var best = rows.Where(r => r.Job.Status == JobStatus.Succeeded && r.ValidPerplexity is not null)
            .OrderBy(r => r.ValidPerplexity).ThenBy(r => r.Index).Select(r => (int?)r.Index).FirstOrDefault();
        var counts = rows.GroupBy(r => r.Job.Status).ToDictionary(g => g.Key, g => g.Count());
        return new SweepComparison(rows, best, StatusOf(counts), counts);
    }

    /// <summary>The sweep's status from its jobs' (see <see cref="Status"/>).</summary>
    public static string StatusOf(IReadOnlyDictionary<JobStatus, int> jobs)
    {
        int Count(JobStatus s) => jobs.GetValueOrDefault(s);
        var total = jobs.Values.Sum();
        if (total > 0 && Count(JobStatus.Queued) == total) return "queued";
        if (Count(JobStatus.Queued) + Count(JobStatus.Running) > 0) return "running";
        if (Count(JobStatus.Succeeded) == total) return "succeeded";
        return Count(JobStatus.Cancelled) > 0 ? "cancelled" : "failed";
    }

    private static SweepRow Row(SweepPointView p)
    {
        using var metrics = Parse(p.Version?.MetricsJson);
        var root = metrics?.RootElement;
        return new SweepRow
        {
            Index = p.Point.PointIndex,
            Values = JsonNode.Parse(p.Point.ValuesJson)!.AsObject(),
            Job = p.Job,
            ModelRef = p.Version is { } v ? $"{v.Name}@{v.Version}" : null,
            ValidPerplexity = Number(root, "bestValidPerplexity") ?? p.Job.BestValidPerplexity,
            TestPerplexity = p.Job.TestPerplexity ?? Number(root, "testPerplexity"),
            BitsPerCharacter = Number(root, BitsPerCharacterNames),
            WordPerplexity = Number(root, WordPerplexityNames),
            Parameters = (long?)Number(root, ParameterNames),
            ModelBytes = (long?)Number(root, ModelBytesNames),
            TokensPerSecond = Number(root, "tokensPerSecond") ?? p.Job.TokensPerSecond,
            TrainingSeconds = Number(root, "trainingSeconds") ?? (p.Job.StartedAt is null ? null : p.Job.RunSeconds),
            NextWordLatencyMs = p.Point.NextWordLatencyMs,
        };
    }

    private static JsonDocument? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try { return JsonDocument.Parse(json); }
        catch (JsonException) { return null; }
    }

    /// <summary>The first of <paramref name="names"/> the metrics hold as a number (a zero counts as not recorded).</summary>
    private static double? Number(JsonElement? metrics, params string[] names)
    {
        if (metrics is not { ValueKind: JsonValueKind.Object } m) return null;
        foreach (var name in names)
            if (m.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.GetDouble() is var d && d != 0 && double.IsFinite(d))
                return d;
        return null;
    }
}
