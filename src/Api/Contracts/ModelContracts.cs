using System.Text.Json;

namespace RnnLmService.Api.Contracts;

/// <summary>Every model name in the store.</summary>
public sealed class ModelListResponse
{
    /// <summary>The default model setting (<c>name</c> or <c>name@version</c>), used when a request names no model.</summary>
    /// <example>starter</example>
    public string? DefaultModel { get; init; }

    /// <summary>The models, by name.</summary>
    public required IReadOnlyList<ModelInfo> Models { get; init; }
}

/// <summary>A model name and its versions.</summary>
public sealed class ModelInfo
{
    /// <summary>The model's name.</summary>
    /// <example>starter</example>
    public required string Name { get; init; }

    /// <summary>The version the bare name resolves to: the promoted one, else the newest.</summary>
    /// <example>2</example>
    public int ResolvesTo { get; init; }

    /// <summary>Whether this is the default model.</summary>
    /// <example>true</example>
    public bool IsDefault { get; init; }

    /// <summary>Its versions, newest first.</summary>
    public required IReadOnlyList<ModelVersionInfo> Versions { get; init; }
}

/// <summary>One trained version of a model.</summary>
public sealed class ModelVersionInfo
{
    /// <summary>The address of this version, <c>name@version</c>.</summary>
    /// <example>starter@2</example>
    public required string Id { get; init; }

    /// <summary>The model's name.</summary>
    /// <example>starter</example>
    public required string Name { get; init; }

    /// <summary>The version number (from 1, per name).</summary>
    /// <example>2</example>
    public int Version { get; init; }

    /// <summary>When the version was stored (UTC).</summary>
    /// <example>2026-11-28T00:40:00Z</example>
    public DateTime CreatedAt { get; init; }

    /// <summary>Whether the bare name resolves to this version because it was promoted.</summary>
    /// <example>true</example>
    public bool Promoted { get; init; }

    /// <summary>Whether this process has it loaded.</summary>
    /// <example>true</example>
    public bool Loaded { get; init; }

    /// <summary>The training job that produced it, if any.</summary>
    /// <example>job_01jdxk3m</example>
    public string? JobId { get; init; }

    /// <summary>The version a warm-started job continued from (its <c>init</c>), <c>name@version</c>; null when trained from random weights or imported.</summary>
    /// <example>starter@1</example>
    public string? Parent { get; init; }

    /// <summary>Training metrics recorded with the version (perplexities, epochs, time).</summary>
    /// <example>{"validPerplexity": 112.4, "testPerplexity": 118.9}</example>
    public JsonElement? Metrics { get; init; }
}

/// <summary>The outcome of setting the default model.</summary>
public sealed class DefaultModelResponse
{
    /// <summary>The new default model setting.</summary>
    /// <example>starter</example>
    public required string DefaultModel { get; init; }

    /// <summary>The version it resolves to now.</summary>
    /// <example>starter@2</example>
    public required string ResolvesTo { get; init; }
}

/// <summary>The version an import registered and where it came from.</summary>
public sealed class ModelImportResponse
{
    /// <summary>The new version, numbered after the name's existing ones.</summary>
    public required ModelVersionInfo Model { get; init; }

    /// <summary>The name and version the archive was exported from (its manifest's), as <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    public required string ImportedFrom { get; init; }

    /// <summary>When the exported version was originally written (UTC).</summary>
    /// <example>2026-11-28T00:40:00Z</example>
    public DateTimeOffset SourceCreatedAt { get; init; }

    /// <summary>SHA-256 (hex) of the archive as received; recorded with the version in its model.json.</summary>
    /// <example>9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</example>
    public required string ArchiveSha256 { get; init; }
}
