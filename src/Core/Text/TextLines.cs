namespace RnnLmService.Core.Text;

/// <summary>Splits text into lines at <c>\n</c> and <c>\r\n</c>, the way every tokenizer and the corpus splitter do.</summary>
internal static class TextLines
{
    /// <summary>
    /// The lines of <paramref name="text"/>, without their line endings. <c>Terminated</c> is false only
    /// for a last line with no newline after it; text ending in a newline has no empty last line.
    /// </summary>
    public static IEnumerable<(string Line, bool Terminated)> Split(string text)
    {
        int start = 0;
        while (start < text.Length)
        {
            int newline = text.IndexOf('\n', start);
            if (newline < 0)
            {
                yield return (text[start..], false);
                yield break;
            }
            int end = newline > start && text[newline - 1] == '\r' ? newline - 1 : newline;
            yield return (text[start..end], true);
            start = newline + 1;
        }
    }

    /// <summary>
    /// Tokenizes every line with <paramref name="tokenizeLine"/> and puts <see cref="Vocabulary.Eos"/> after
    /// each terminated line (and after an unterminated last one when <paramref name="appendEos"/>).
    /// Lines that give no tokens are skipped when <paramref name="skipBlankLines"/>.
    /// </summary>
    public static List<string> Tokenize(string text, bool appendEos, bool skipBlankLines, Func<string, IReadOnlyList<string>> tokenizeLine)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        foreach (var (line, terminated) in Split(text))
        {
            var lineTokens = tokenizeLine(line);
            if (skipBlankLines && lineTokens.Count == 0) continue;
            tokens.AddRange(lineTokens);
            if (terminated || appendEos) tokens.Add(Vocabulary.Eos);
        }
        return tokens;
    }
}
