using System.Globalization;
using System.Text;

namespace RnnLmService.Core.Text;

/// <summary>
/// Words split on Unicode whitespace. With <see cref="TokenizerOptions.SplitPunctuation"/>, every
/// punctuation or symbol code point (Unicode categories P* and S*, so emoji too) is its own token, except:
/// <list type="bullet">
/// <item>an apostrophe (' or ’) between two letters or digits stays in the word: "don't", "l’eau";</item>
/// <item>a '.' or ',' between two digits stays in the number: "3.14", "1,000";</item>
/// <item>combining marks, variation selectors, emoji modifiers and ZWJ-joined symbols stay with the
/// symbol before them, so "❤️" and "👨‍👩‍👧" are one token each;</item>
/// <item>a whole word equal to <c>&lt;unk&gt;</c> (as in Penn Treebank text) is kept as the special token.</item>
/// </list>
/// With <see cref="TokenizerOptions.Lowercase"/>, tokens pass through <see cref="string.ToLowerInvariant()"/>.
/// Round trip: <c>Detokenize(Tokenize(text))</c> equals the text with whitespace runs collapsed to one
/// space, blank lines dropped and, when punctuation is split, spaces around the split tokens.
/// </summary>
public sealed class WordTokenizer : ITokenizer
{
    private const int ZeroWidthJoiner = 0x200D;

    /// <summary>Creates a word tokenizer; prefer <see cref="Tokenizers.Create"/>.</summary>
    public WordTokenizer(TokenizerOptions options)
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
        var tokens = new List<string>();
        var word = new List<Rune>();
        foreach (var rune in line.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune)) { AddWord(word, tokens); word.Clear(); }
            else word.Add(rune);
        }
        AddWord(word, tokens);
        return tokens;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Tokenize(string text, bool appendEos = true) =>
        TextLines.Tokenize(text, appendEos, skipBlankLines: true, TokenizeLine);

    /// <inheritdoc />
    public string Detokenize(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var text = new StringBuilder();
        bool lineStart = true;
        foreach (var token in tokens)
        {
            if (token == Vocabulary.Eos) { text.Append('\n'); lineStart = true; continue; }
            if (!lineStart) text.Append(' ');
            text.Append(token);
            lineStart = false;
        }
        return text.ToString();
    }

    /// <summary>Adds the tokens of one whitespace-free word.</summary>
    private void AddWord(List<Rune> runes, List<string> tokens)
    {
        if (runes.Count == 0) return;
        var whole = Concat(runes, 0, runes.Count);
        if (!Options.SplitPunctuation || whole == Vocabulary.Unk) { Add(whole, tokens); return; }

        int wordStart = 0, i = 0;
        while (i < runes.Count)
        {
            if (!IsPunctuationOrSymbol(runes[i]) || IsConnector(runes, i)) { i++; continue; }
            if (i > wordStart) Add(Concat(runes, wordStart, i - wordStart), tokens);
            int end = SymbolEnd(runes, i);
            Add(Concat(runes, i, end - i), tokens);
            i = wordStart = end;
        }
        if (i > wordStart) Add(Concat(runes, wordStart, i - wordStart), tokens);
    }

    private void Add(string token, List<string> tokens) =>
        tokens.Add(Options.Lowercase && token != Vocabulary.Unk ? token.ToLowerInvariant() : token);

    private static bool IsPunctuationOrSymbol(Rune r) => Rune.IsPunctuation(r) || Rune.IsSymbol(r);

    /// <summary>An apostrophe inside a word or a decimal/thousands separator inside a number.</summary>
    private static bool IsConnector(List<Rune> runes, int i)
    {
        if (i == 0 || i == runes.Count - 1) return false;
        Rune before = runes[i - 1], after = runes[i + 1];
        return runes[i].Value switch
        {
            '\'' or '\u2019' => Rune.IsLetterOrDigit(before) && Rune.IsLetterOrDigit(after),
            '.' or ',' => Rune.IsDigit(before) && Rune.IsDigit(after),
            _ => false,
        };
    }

    /// <summary>
    /// End (exclusive) of the symbol starting at <paramref name="i"/>: it keeps the marks, format
    /// characters and emoji modifiers after it, and symbols joined to it by a zero-width joiner.
    /// </summary>
    private static int SymbolEnd(List<Rune> runes, int i)
    {
        int end = i + 1;
        while (end < runes.Count && IsAttached(runes[end]))
        {
            end++;
            if (runes[end - 1].Value == ZeroWidthJoiner && end < runes.Count && Rune.IsSymbol(runes[end])) end++;
        }
        return end;
    }

    private static bool IsAttached(Rune r) =>
        r.Value is >= 0x1F3FB and <= 0x1F3FF // emoji skin-tone modifiers
        || Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
            or UnicodeCategory.EnclosingMark or UnicodeCategory.Format;

    private static string Concat(List<Rune> runes, int start, int count)
    {
        var text = new StringBuilder(count * 2);
        for (int i = start; i < start + count; i++) text.Append(runes[i].ToString());
        return text.ToString();
    }
}
