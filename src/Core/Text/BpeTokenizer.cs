using System.Globalization;
using System.Text;

namespace RnnLmService.Core.Text;

/// <summary>
/// Byte-level BPE: each line is cut into pre-tokens, each pre-token's UTF-8 bytes are merged by
/// <see cref="BpeMerges"/>, and tokens are byte sequences written with <see cref="ByteLevel"/> characters (a space
/// is <c>Ġ</c>). No unknown tokens: every byte is in the vocabulary. No normalisation: <c>Detokenize(Tokenize(text))</c>
/// equals the text with <c>\r\n</c> as <c>\n</c> and a final <c>\n</c> (as the character tokenizer; blank lines kept).
/// <para>
/// Pre-tokenisation (merges never cross it): a line is cut where the kind of character changes between letters
/// (Unicode L*), digits (N*), whitespace and everything else (punctuation, symbols, emoji, format characters);
/// combining marks (M*) stay with the character before them; and one space (U+0020) just before a non-space run
/// is moved onto it, so "in the beginning" is <c>in</c>, <c> the</c>, <c> beginning</c>. Text without spaces (Chinese)
/// is one pre-token per run of letters.
/// </para>
/// </summary>
public sealed class BpeTokenizer : ITokenizer
{
    /// <summary>Creates a tokenizer with learnt merges; see <see cref="Learn"/>.</summary>
    public BpeTokenizer(TokenizerOptions options, BpeMerges merges)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(merges);
        options.Validate();
        Options = options;
        Merges = merges;
    }

    /// <inheritdoc />
    public TokenizerOptions Options { get; }

    /// <summary>The learnt merges (saved with the model).</summary>
    public BpeMerges Merges { get; }

    /// <summary>
    /// Learns <see cref="TokenizerOptions.BpeVocabularySize"/> − 258 merges (two specials and the 256 bytes come
    /// first) from the pre-tokens of <paramref name="trainText"/>.
    /// </summary>
    public static BpeTokenizer Learn(TokenizerOptions options, string trainText)
    {
        options.Validate();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (line, _) in TextLines.Split(trainText))
            foreach (var piece in PreTokenize(line))
                counts[piece] = counts.GetValueOrDefault(piece) + 1;
        return new BpeTokenizer(options, BpeMerges.Learn(counts, options.BpeVocabularySize - 2 - 256));
    }

    /// <inheritdoc />
    public IReadOnlyList<string> TokenizeLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var tokens = new List<string>();
        foreach (var piece in PreTokenize(line)) tokens.AddRange(Merges.Encode(piece));
        return tokens;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Tokenize(string text, bool appendEos = true) =>
        TextLines.Tokenize(text, appendEos, skipBlankLines: false, TokenizeLine);

    /// <summary>Text from tokens: their bytes decoded as UTF-8 (an invalid sequence becomes U+FFFD), <c>&lt;eos&gt;</c> as <c>\n</c>, <c>&lt;unk&gt;</c> as nothing.</summary>
    public string Detokenize(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            if (token == Vocabulary.Eos) bytes.Add((byte)'\n');
            else if (token != Vocabulary.Unk) ByteLevel.TryAppendBytes(token, bytes);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The pre-tokens of one line (see the class comment); concatenated they give the line back.</summary>
    public static IEnumerable<string> PreTokenize(string line)
    {
        var pieces = new List<(CharClass Class, StringBuilder Text)>();
        foreach (var rune in line.EnumerateRunes())
        {
            var cls = Classify(rune);
            if (cls == CharClass.Mark && pieces.Count > 0 && pieces[^1].Class != CharClass.Space) { pieces[^1].Text.Append(rune.ToString()); continue; }
            if (cls == CharClass.Mark) cls = CharClass.Other;
            if (pieces.Count == 0 || pieces[^1].Class != cls) pieces.Add((cls, new StringBuilder()));
            pieces[^1].Text.Append(rune.ToString());
        }
        for (var i = 0; i < pieces.Count; i++)
        {
            var text = pieces[i].Text;
            if (pieces[i].Class == CharClass.Space && i + 1 < pieces.Count && text[^1] == ' ')
            {
                text.Length--;                                       // the space goes with the word after it
                pieces[i + 1].Text.Insert(0, ' ');
            }
            if (text.Length > 0) yield return text.ToString();
        }
    }

    private enum CharClass { Letter, Digit, Space, Mark, Other }

    private static CharClass Classify(Rune r)
    {
        if (Rune.IsWhiteSpace(r)) return CharClass.Space;
        if (Rune.IsLetter(r)) return CharClass.Letter;
        if (Rune.IsNumber(r)) return CharClass.Digit;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            ? CharClass.Mark : CharClass.Other;
    }
}
