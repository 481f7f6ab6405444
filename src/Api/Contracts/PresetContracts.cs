using System.Text.Json;

namespace RnnLmService.Api.Contracts;

/// <summary>A training preset: the fields it sets, the whole spec a job gets from it alone, and what it reached.</summary>
public sealed record PresetResponse
{
    /// <summary>The name a job gives as <c>"preset"</c>.</summary>
    /// <example>fast</example>
    public required string Name { get; init; }

    /// <summary>What it is for and why it is set so.</summary>
    public required string Description { get; init; }

    /// <summary>The fields it sets (<c>tokenizer</c>, <c>model</c>, <c>training</c>); a job's own fields override them.</summary>
    public JsonElement Settings { get; init; }

    /// <summary>The complete hyperparameters of a job that gives only this preset.</summary>
    public JsonElement Spec { get; init; }

    /// <summary>What it reached on the KJV benchmark corpus (bench/RESULTS.md): status <c>measured</c> or <c>not yet measured</c>.</summary>
    public required PresetFiguresResponse Results { get; init; }
}

/// <summary>A preset's published figures.</summary>
public sealed record PresetFiguresResponse
{
    /// <summary><c>measured</c> or <c>not yet measured</c>.</summary>
    /// <example>measured</example>
    public required string Status { get; init; }

    /// <summary>Test perplexity on the KJV benchmark corpus.</summary>
    /// <example>88.7</example>
    public double? TestPerplexity { get; init; }

    /// <summary>The budget the run had.</summary>
    public string? Budget { get; init; }

    /// <summary>Where it is published and the command that measured it.</summary>
    public string? Source { get; init; }

    /// <summary>What to keep in mind when reading the figure (machine load, how it differs from the preset's own budget).</summary>
    public string? Note { get; init; }
}
