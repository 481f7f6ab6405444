using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RnnLmService.Core.Text.Prepared;

/// <summary>
/// What decides the ids in a dataset's token files: the tokenizer's kind and the settings that change which tokens a
/// text gives. Words and characters: never <c>maxVocabularySize</c> or <c>minCount</c>, since the ids are ranks in
/// frequency order and a job's vocabulary is a prefix of them (ids past its cut read as <c>&lt;unk&gt;</c>). BPE: the
/// vocabulary size, since it decides the merges learnt from the train split and so every token (its ids are the
/// vocabulary's order, not a ranking a smaller job could cut). Jobs whose keys are equal share one set of token files.
/// <see cref="FormatVersion"/> changes when the file layout does.
/// </summary>
public sealed record TokenFileKey
{
    /// <summary>Bumped when the token files or the ranking change meaning; old preparations are then ignored.</summary>
    public const int FormatVersion = 2;

    /// <summary>The layout version.</summary>
    public int Format { get; init; } = FormatVersion;

    /// <summary>The tokenizer kind.</summary>
    public required TokenizerKind Kind { get; init; }

    /// <summary>Word level: tokens lower-cased.</summary>
    public bool Lowercase { get; init; }

    /// <summary>Word level: punctuation and symbols split off.</summary>
    public bool SplitPunctuation { get; init; }

    /// <summary>BPE: the vocabulary size (specials and bytes included) the merges are learnt for; null for word and character.</summary>
    public int? VocabularySize { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The key of a tokenizer: settings that do not apply to its kind are left out, so they cannot split the cache.</summary>
    public static TokenFileKey Of(TokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Kind switch
        {
            TokenizerKind.Character => new TokenFileKey { Kind = TokenizerKind.Character },
            TokenizerKind.Bpe => new TokenFileKey { Kind = TokenizerKind.Bpe, VocabularySize = options.BpeVocabularySize },
            _ => new TokenFileKey { Kind = options.Kind, Lowercase = options.Lowercase, SplitPunctuation = options.SplitPunctuation },
        };
    }

    /// <summary>The key as one line of JSON (written to the index, shown by the datasets API).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <see cref="ToJson"/>'s output.</summary>
    public static TokenFileKey? FromJson(string json) => JsonSerializer.Deserialize<TokenFileKey>(json, Json);

    /// <summary>The directory name of the token files: the kind and the first 16 hex digits of the JSON's SHA-256.</summary>
    [JsonIgnore]
    public string DirectoryName =>
        $"{Kind.ToString().ToLowerInvariant()}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson())))[..16]}";
}
