using System.Text.Json;

namespace RnnLmService.Api.Contracts;

/// <summary>A training preset: the fields it sets, the whole spec a job gets from it alone, and what it reached.</summary>
public sealed record PresetResponse
{
    /// <summary>The name a job gives as <c>"preset"</c>.</summary>
    /// <example>fast</example>
    public required string Name { get; init; }

    /// <summary>What it is for and why it is set so.</summary>
    /// <example>A model that trains in minutes on 2 cores: 1-layer LSTM 256/256 with tied weights, AdamW with warm-up and cosine decay.</example>
    public required string Description { get; init; }

    /// <summary>The fields it sets (<c>tokenizer</c>, <c>model</c>, <c>training</c>); a job's own fields override them.</summary>
    /// <example>{"model":{"hiddenSize":256,"layers":1,"tieWeights":true},"training":{"optimizer":"adamW","schedule":"cosine","maxMinutes":10}}</example>
    public JsonElement Settings { get; init; }

    /// <summary>The complete hyperparameters of a job that gives only this preset.</summary>
    /// <example>{"tokenizer":{"kind":"word"},"model":{"cellType":"lstm","hiddenSize":256},"training":{"optimizer":"adamW","learningRate":0.002}}</example>
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
    /// <example>83.51</example>
    public double? TestPerplexity { get; init; }

    /// <summary>The budget the run had.</summary>
    /// <example>3 minutes of training, 1 thread, 2026-12-03</example>
    public string? Budget { get; init; }

    /// <summary>Where it is published and the command that measured it.</summary>
    /// <example>bench/RESULTS.md, Training strategies: bench/ablation.sh --budget 3</example>
    public string? Source { get; init; }

    /// <summary>What to keep in mind when reading the figure (machine load, how it differs from the preset's own budget).</summary>
    /// <example>Its own budget is 10 minutes; not yet measured at it.</example>
    public string? Note { get; init; }
}
