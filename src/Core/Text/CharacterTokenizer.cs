using System.Text;

namespace RnnLmService.Core.Text;

/// <summary>
/// One token per Unicode code point, enumerated as <see cref="Rune"/>s: a surrogate pair (emoji, rare CJK)
/// stays one token, and a lone surrogate in malformed input becomes U+FFFD rather than a broken token.
/// Grapheme clusters (ZWJ emoji sequences, combining accents) are several tokens. Spaces are tokens;
/// <see cref="TokenizerOptions.Lowercase"/> and <see cref="TokenizerOptions.SplitPunctuation"/> do not apply.
/// Round trip: <c>Detokenize(Tokenize(text)) == text</c> with line endings as <c>\n</c> and a final <c>\n</c>.
/// </summary>
public sealed class CharacterTokenizer : ITokenizer
{
    /// <summary>Creates a character tokenizer; prefer <see cref="Tokenizers.Create"/>.</summary>
    public CharacterTokenizer(TokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <inheritdoc />
    public TokenizerOptions Options { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> TokenizeLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var tokens = new List<string>(line.Length);
        foreach (var rune in line.EnumerateRunes()) tokens.Add(rune.ToString());
        return tokens;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Tokenize(string text, bool appendEos = true) =>
        TextLines.Tokenize(text, appendEos, skipBlankLines: false, TokenizeLine);

    /// <inheritdoc />
    public string Detokenize(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var text = new StringBuilder();
        foreach (var token in tokens) text.Append(token == Vocabulary.Eos ? "\n" : token);
        return text.ToString();
    }
}
