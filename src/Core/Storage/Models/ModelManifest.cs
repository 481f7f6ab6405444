using System.Text.Json;
using System.Text.Json.Serialization;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Storage.Models;

/// <summary>
/// <c>model.json</c>: everything needed to rebuild a model version with no other input — format version,
/// architecture, tokenizer, recipe, dataset hash, metrics, and the files beside it with their hashes.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>
    /// Bumped when the directory layout or the weight names change; loading refuses newer versions. 1: one fused
    /// recurrent module (<c>rnn.*</c>). 2: one module per layer (<c>rnns.{k}.*</c>), written only for models with
    /// locked dropout, so every other model stays readable by builds that know only version 1. 3: an adaptive softmax
    /// output layer (<c>adaptive.*</c> instead of <c>decoder.*</c>) or a BPE tokenizer (<c>merges.json</c>), written only
    /// for such models.
    /// </summary>
    public const int CurrentFormatVersion = 3;

    /// <summary>The version a model with this architecture and tokenizer is written as (the oldest that describes it).</summary>
    public static int FormatVersionFor(ModelOptions architecture, TokenizerOptions? tokenizer = null) =>
        architecture.IsAdaptive || tokenizer?.Kind == TokenizerKind.Bpe ? 3 : architecture.LockedDropout ? 2 : 1;

    /// <summary>Layout version.</summary>
    public int FormatVersion { get; init; } = 1;
    /// <summary>Model name.</summary>
    public required string Name { get; init; }
    /// <summary>Version number within the name.</summary>
    public int Version { get; init; }
    /// <summary>Architecture.</summary>
    public required ModelOptions Architecture { get; init; }
    /// <summary>Tokens in the vocabulary (rows of the embedding).</summary>
    public int VocabularySize { get; init; }
    /// <summary>Tokenizer settings.</summary>
    public required TokenizerOptions Tokenizer { get; init; }
    /// <summary>The recipe it was trained with.</summary>
    public required TrainingOptions Training { get; init; }
    /// <summary>SHA-256 of the dataset it was trained on, when known.</summary>
    public string? DatasetHash { get; init; }
    /// <summary>What training measured.</summary>
    public required TrainingMetrics Metrics { get; init; }
    /// <summary>When the version was written (UTC).</summary>
    public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>Weights file name.</summary>
    public string WeightsFile { get; init; } = "weights.bin";
    /// <summary>Vocabulary file name.</summary>
    public string VocabularyFile { get; init; } = "vocab.json";
    /// <summary>BPE merges file name (<see cref="BpeMerges"/>) for a BPE tokenizer; absent otherwise (and in models written before BPE).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MergesFile { get; init; }
    /// <summary>SHA-256 of the weights file (hex), to tell a truncated or foreign file.</summary>
    public string? WeightsSha256 { get; init; }
    /// <summary>
    /// SHA-256 (hex) of every other file of the directory, by relative path with '/' (the weights and vocabulary included):
    /// what an exported archive is checked against on import. Absent in directories written before it existed.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Files { get; init; }
    /// <summary>The version a warm-started job continued from, <c>name@version</c> (null when trained from random weights).</summary>
    public string? Parent { get; init; }
    /// <summary>Where the version came from when it was imported rather than trained (null for trained versions).</summary>
    public ModelOrigin? Origin { get; init; }

    /// <summary>JSON settings of model.json (camelCase, enums as strings).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>The import record of a version brought in as an archive (<c>POST /api/models/import</c>).</summary>
public sealed record ModelOrigin
{
    /// <summary>The name and version the archive's manifest gave, <c>name@version</c>.</summary>
    public required string Source { get; init; }
    /// <summary>When the source version was written.</summary>
    public DateTimeOffset SourceCreatedAt { get; init; }
    /// <summary>SHA-256 (hex) of the archive as uploaded.</summary>
    public required string ArchiveSha256 { get; init; }
    /// <summary>When it was imported (UTC).</summary>
    public DateTimeOffset ImportedAt { get; init; }
}
