using System.Text.Json.Serialization;

namespace RnnLmService.Core.Text;

/// <summary>What a token is: a word (with punctuation split off) or one Unicode code point.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TokenizerKind>))]
public enum TokenizerKind
{
    /// <summary>Whitespace-separated words, punctuation and symbols as their own tokens.</summary>
    Word,

    /// <summary>One token per Unicode code point (<see cref="System.Text.Rune"/>), spaces included.</summary>
    Character,
}

/// <summary>
/// How text becomes tokens and which tokens make the vocabulary. Stored with every model so that
/// inference tokenizes exactly as training did. Call <see cref="Validate"/> before use.
/// </summary>
public sealed record TokenizerOptions
{
    /// <summary>Smallest allowed <see cref="MaxVocabularySize"/>: the two specials and one real token.</summary>
    public const int MinVocabularySize = 3;

    /// <summary>Largest allowed <see cref="MaxVocabularySize"/> and <see cref="MinCount"/>.</summary>
    public const int MaxLimit = 1_000_000;

    /// <summary>Word or character tokens.</summary>
    public TokenizerKind Kind { get; init; } = TokenizerKind.Word;

    /// <summary>Word level only: lower-case every token with <see cref="string.ToLowerInvariant()"/>.</summary>
    public bool Lowercase { get; init; } = true;

    /// <summary>Word level only: every punctuation or symbol code point becomes its own token ("end." → "end", ".").</summary>
    public bool SplitPunctuation { get; init; } = true;

    /// <summary>Vocabulary size cap, including <c>&lt;unk&gt;</c> and <c>&lt;eos&gt;</c>; 3..1,000,000.</summary>
    public int MaxVocabularySize { get; init; } = 10000;

    /// <summary>Tokens seen fewer times than this in the training split become <c>&lt;unk&gt;</c>; 1..1,000,000.</summary>
    public int MinCount { get; init; } = 1;

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the field and its allowed range.</summary>
    public void Validate()
    {
        InvalidSettingException.Check(Enum.IsDefined(Kind), "kind",
            $"kind must be 'Word' or 'Character' (got {(int)Kind}).");
        InvalidSettingException.Check(MaxVocabularySize is >= MinVocabularySize and <= MaxLimit, "maxVocabularySize",
            $"maxVocabularySize must be between {MinVocabularySize} and {MaxLimit} (got {MaxVocabularySize}).");
        InvalidSettingException.Check(MinCount is >= 1 and <= MaxLimit, "minCount",
            $"minCount must be between 1 and {MaxLimit} (got {MinCount}).");
    }
}
