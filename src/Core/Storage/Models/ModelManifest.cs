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
    /// <summary>Bumped when the directory layout or the weight names change; loading refuses other versions.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Layout version.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;
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

    /// <summary>JSON settings of model.json (camelCase, enums as strings).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
