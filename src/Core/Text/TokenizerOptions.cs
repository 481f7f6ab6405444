using System.Text.Json.Serialization;

namespace RnnLmService.Core.Text;

/// <summary>What a token is: a word (with punctuation split off), one Unicode code point, or a learnt byte-level subword.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TokenizerKind>))]
public enum TokenizerKind
{
    /// <summary>Whitespace-separated words, punctuation and symbols as their own tokens.</summary>
    Word,

    /// <summary>One token per Unicode code point (<see cref="System.Text.Rune"/>), spaces included.</summary>
    Character,

    /// <summary>Byte-level BPE learnt from the training split (<see cref="BpeTokenizer"/>): no unknown tokens, exact round trip.</summary>
    Bpe,
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

    /// <summary>Tokens seen fewer times than this in the training split become <c>&lt;unk&gt;</c>; 1..1,000,000 (word and character only).</summary>
    public int MinCount { get; init; } = 1;

    /// <summary>
    /// BPE only: the vocabulary to learn, including <c>&lt;unk&gt;</c>, <c>&lt;eos&gt;</c> and the 256 bytes, so
    /// <c>vocabularySize − 258</c> merges (fewer when the training text runs out of pairs seen twice);
    /// 258..1,000,000. Null: <see cref="MaxVocabularySize"/>.
    /// </summary>
    /// <example>8000</example>
    public int? VocabularySize { get; init; }

    /// <summary>Smallest BPE vocabulary: the two specials and the 256 bytes.</summary>
    public const int MinBpeVocabularySize = 2 + 256;

    /// <summary>The BPE vocabulary size in use: <see cref="VocabularySize"/>, else <see cref="MaxVocabularySize"/>.</summary>
    [JsonIgnore]
    public int BpeVocabularySize => VocabularySize ?? MaxVocabularySize;

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the field and its allowed range.</summary>
    public void Validate()
    {
        InvalidSettingException.Check(Enum.IsDefined(Kind), "kind",
            $"kind must be 'Word', 'Character' or 'Bpe' (got {(int)Kind}).");
        InvalidSettingException.Check(VocabularySize is null || Kind == TokenizerKind.Bpe, "tokenizer.vocabularySize",
            "vocabularySize is the BPE vocabulary size; it needs kind 'bpe' (use maxVocabularySize for words and characters).");
        InvalidSettingException.Check(Kind != TokenizerKind.Bpe || BpeVocabularySize is >= MinBpeVocabularySize and <= MaxLimit, "tokenizer.vocabularySize",
            $"vocabularySize must be between {MinBpeVocabularySize} (the two specials and 256 bytes) and {MaxLimit} for BPE (got {BpeVocabularySize}).");
        InvalidSettingException.Check(MaxVocabularySize is >= MinVocabularySize and <= MaxLimit, "maxVocabularySize",
            $"maxVocabularySize must be between {MinVocabularySize} and {MaxLimit} (got {MaxVocabularySize}).");
        InvalidSettingException.Check(MinCount is >= 1 and <= MaxLimit, "minCount",
            $"minCount must be between 1 and {MaxLimit} (got {MinCount}).");
    }
}
