using System.Buffers;
using System.Text;

namespace RnnLmService.Core.Text;

/// <summary>The characters and words of a split's tokens (<see cref="TextMeasures"/>), in memory or read from a prepared file.</summary>
public interface ITextMeasures
{
    /// <summary>
    /// Characters and words of the targets the evaluator scores when the split is cut into <paramref name="streams"/>
    /// streams (see <see cref="Training.EvaluationSum"/>): every token of each stream but its first, the remainder dropped.
    /// </summary>
    (long Characters, long Words) Scored(int streams);
}

/// <summary>
/// What each token of a stream adds to the tokenizer's normalised text — <c>Detokenize(Tokenize(text))</c>: its
/// characters (Unicode scalar values) and the whitespace-separated words that start in it. The word tokenizer's
/// text is its tokens joined by single spaces with <c>\n</c> for <c>&lt;eos&gt;</c> (so a token after another on the
/// same line adds the space before it); the character and BPE tokenizers' text is the input itself with <c>\n</c>
/// line ends. An unknown word counts its own characters (it is scored once, as <c>&lt;unk&gt;</c>, for all of them).
/// A BPE token that ends inside a character gets the character where its first byte is.
/// These are the denominators of bits per character and perplexity per word in <see cref="Training.TrainingMetrics"/>.
/// </summary>
public sealed class TextMeasures : ITextMeasures
{
    private TextMeasures(int[] characters, int[] words)
    {
        Characters = characters;
        Words = words;
    }

    /// <summary>Characters each token adds.</summary>
    public IReadOnlyList<int> Characters { get; }

    /// <summary>Words (a non-whitespace character after whitespace or the text start) that start in each token.</summary>
    public IReadOnlyList<int> Words { get; }

    /// <summary>Measures the token strings (before they became ids) of one split.</summary>
    public static TextMeasures Of(ITokenizer tokenizer, IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tokens);
        var bytes = new List<byte>();
        var starts = new int[tokens.Count + 1];
        var lineStart = true;
        for (var i = 0; i < tokens.Count; i++)
        {
            starts[i] = bytes.Count;
            var token = tokens[i];
            if (token == Vocabulary.Eos) { bytes.Add((byte)'\n'); lineStart = true; continue; }
            switch (tokenizer)
            {
                case BpeTokenizer when ByteLevel.TryAppendBytes(token, bytes):
                    break;
                case WordTokenizer:
                    if (!lineStart) bytes.Add((byte)' ');
                    bytes.AddRange(Encoding.UTF8.GetBytes(token));
                    break;
                default:
                    bytes.AddRange(Encoding.UTF8.GetBytes(token));
                    break;
            }
            lineStart = false;
        }
        starts[tokens.Count] = bytes.Count;

        var characters = new int[tokens.Count];
        var words = new int[tokens.Count];
        var all = bytes.ToArray().AsSpan();
        var (at, holder) = (0, 0);
        var afterSpace = true;
        while (at < all.Length)
        {
            while (starts[holder + 1] <= at) holder++;               // the token holding this character's first byte
            Rune.DecodeFromUtf8(all[at..], out var rune, out var length);
            characters[holder]++;
            var space = Rune.IsWhiteSpace(rune);
            if (!space && afterSpace) words[holder]++;
            afterSpace = space;
            at += length;
        }
        return new TextMeasures(characters, words);
    }

    /// <inheritdoc />
    public (long Characters, long Words) Scored(int streams)
    {
        long length = Characters.Count / Math.Max(1, streams), characters = 0, words = 0;
        for (var b = 0; b < streams; b++)
            for (var t = b * length + 1; t < (b + 1) * length; t++)
            {
                characters += Characters[(int)t];
                words += Words[(int)t];
            }
        return (characters, words);
    }
}
