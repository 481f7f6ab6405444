namespace RnnLmService.Core.Text;

/// <summary>
/// Turns text into tokens and back. Lines end at <c>\n</c> or <c>\r\n</c>; each line's tokens are
/// followed by <see cref="Vocabulary.Eos"/>.
/// <para>
/// Blank lines: the word tokenizer skips empty and whitespace-only lines entirely (no tokens, no
/// <c>&lt;eos&gt;</c>), unlike the classic word-LM example, which gives them a lone <c>&lt;eos&gt;</c>;
/// a word model then never learns runs of empty lines. The character tokenizer keeps every line,
/// an empty one giving just <c>&lt;eos&gt;</c>, so that its round trip is exact.
/// </para>
/// </summary>
public interface ITokenizer
{
    /// <summary>The options this tokenizer was created with (validated).</summary>
    TokenizerOptions Options { get; }

    /// <summary>The tokens of one line, without <c>&lt;eos&gt;</c>. The line should not contain line breaks.</summary>
    IReadOnlyList<string> TokenizeLine(string line);

    /// <summary>
    /// The tokens of a text, with <c>&lt;eos&gt;</c> at every line break. With <paramref name="appendEos"/>
    /// (the default) a last line without a trailing newline gets its <c>&lt;eos&gt;</c> too; without it, only
    /// the text's own line breaks do, which is what a prompt to be continued needs.
    /// </summary>
    IReadOnlyList<string> Tokenize(string text, bool appendEos = true);

    /// <summary>
    /// Text from tokens: <c>&lt;eos&gt;</c> becomes <c>\n</c>. Words are joined by single spaces (none
    /// around a newline); characters are concatenated.
    /// </summary>
    string Detokenize(IEnumerable<string> tokens);
}

/// <summary>Creates the tokenizer an options record describes.</summary>
public static class Tokenizers
{
    /// <summary>
    /// Validates <paramref name="options"/> and returns a <see cref="WordTokenizer"/>, <see cref="CharacterTokenizer"/>
    /// or <see cref="BpeTokenizer"/>; a BPE tokenizer needs its learnt <paramref name="merges"/>.
    /// </summary>
    public static ITokenizer Create(TokenizerOptions options, BpeMerges? merges = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options.Kind switch
        {
            TokenizerKind.Character => new CharacterTokenizer(options),
            TokenizerKind.Bpe => new BpeTokenizer(options, merges ?? throw new ArgumentException("a BPE tokenizer needs its merges", nameof(merges))),
            _ => new WordTokenizer(options),
        };
    }

    /// <summary>
    /// The tokenizer a training run reads its corpus with: BPE learns its merges from <paramref name="trainText"/>
    /// (deterministically, so a resumed run learns the same ones); word and character tokenizers are created.
    /// </summary>
    public static ITokenizer ForTraining(TokenizerOptions options, string trainText)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Kind != TokenizerKind.Bpe) return Create(options);
        if (string.IsNullOrWhiteSpace(trainText)) throw new CorpusException("train", "The train split is empty or whitespace only.");
        return BpeTokenizer.Learn(options, trainText);
    }
}
