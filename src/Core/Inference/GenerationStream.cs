using System.Text;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Inference;

/// <summary>
/// One continuation being generated: it carries the RNN hidden state and the last logits, so each new token
/// costs one RNN step. Stepped by <see cref="LanguageModel.Step"/>, alone or with other streams.
/// </summary>
public sealed class GenerationStream : IDisposable
{
    private readonly List<GeneratedToken> tokens = [];
    private readonly StringBuilder text = new();
    private readonly HashSet<int> seen;
    private readonly Random rng;
    private readonly bool wordLevel;
    private readonly Decoder? utf8; // byte-level (BPE) tokens: a character may be split across tokens
    private int emitted;
    private int previousId = -1;

    internal GenerationStream(GenerationOptions options, RnnState hidden, float[] logits, IEnumerable<int> promptIds, bool wordLevel, bool promptOpen, bool byteLevel = false)
    {
        utf8 = byteLevel ? Encoding.UTF8.GetDecoder() : null;
        Options = options;
        Hidden = hidden;
        Logits = logits;
        seen = [.. promptIds];
        rng = options.Seed is { } s ? new Random(unchecked((int)(s ^ (s >> 32)))) : new Random();
        this.wordLevel = wordLevel;
        PromptOpen = promptOpen;
    }

    /// <summary>The options it was started with.</summary>
    public GenerationOptions Options { get; }
    /// <summary>Tokens produced so far.</summary>
    public IReadOnlyList<GeneratedToken> Tokens => tokens;
    /// <summary>The generated text so far (complete once <see cref="Finish"/> is set).</summary>
    public string Text => text.ToString(0, Finish is null ? emitted : text.Length);
    /// <summary>Why it ended, or null while it runs.</summary>
    public FinishReason? Finish { get; private set; }

    internal RnnState Hidden { get; set; }
    internal float[] Logits { get; set; }
    private bool PromptOpen { get; }

    /// <summary>Chooses the next token from the current logits; returns its id, and whether it must be fed back.</summary>
    internal (GeneratedToken Token, int Id, bool Feed) Advance(Vocabulary vocabulary)
    {
        var logProbs = Sampler.LogSoftmax(Logits);
        var id = Sampler.Choose(Logits, Options, seen, rng);
        seen.Add(id);
        var word = vocabulary[id];
        var alternatives = Options.LogProbs > 0
            ? Sampler.TopIndices(logProbs, Options.LogProbs).Select(i => new WordProbability(vocabulary[i], Math.Exp(logProbs[i]), logProbs[i])).ToList()
            : (IReadOnlyList<WordProbability>)[];

        string piece;
        if (id == vocabulary.EosId && Options.StopAtEos)
        {
            Finish = FinishReason.Eos;
            piece = Flush();
        }
        else
        {
            text.Append(Piece(id, word, vocabulary));
            piece = EmitSafe();
            if (Finish is null && tokens.Count + 1 >= Options.MaxTokens)
            {
                Finish = FinishReason.Length;
                piece += Flush();
            }
        }
        previousId = id;
        var token = new GeneratedToken(word, piece, logProbs[id], alternatives);
        tokens.Add(token);
        return (token, id, Finish is null);
    }

    private string Piece(int id, string word, Vocabulary vocabulary)
    {
        if (id == vocabulary.EosId) return "\n";
        if (utf8 is not null) return ByteText(id, word);
        if (!wordLevel) return word;
        var afterSpace = previousId == -1 ? !PromptOpen : previousId == vocabulary.EosId;
        return afterSpace ? word : " " + word;
    }

    /// <summary>The text a byte-level token adds: its bytes through a UTF-8 decoder that holds an unfinished character back.</summary>
    private string ByteText(int id, string token)
    {
        var bytes = new List<byte>();
        if (id >= 2) ByteLevel.TryAppendBytes(token, bytes);
        var chars = new char[utf8!.GetCharCount([.. bytes], flush: false) + 2];
        return new string(chars, 0, utf8.GetChars([.. bytes], 0, bytes.Count, chars, 0, flush: false));
    }

    /// <summary>Emits what can no longer become part of a stop string; ends the stream at a stop string.</summary>
    private string EmitSafe()
    {
        var all = text.ToString();
        foreach (var stop in Options.Stop)
        {
            var at = all.IndexOf(stop, emitted, StringComparison.Ordinal); // held-back text is never emitted, so a stop starts at or after it
            if (at < 0) continue;
            text.Length = at;
            Finish = FinishReason.Stop;
            return Flush();
        }
        var hold = 0;
        foreach (var stop in Options.Stop)
            for (var n = Math.Min(stop.Length - 1, all.Length - emitted); n > hold; n--)
                if (all.AsSpan(all.Length - n).SequenceEqual(stop.AsSpan(0, n))) { hold = n; break; }
        var safe = all.Length - hold;
        var piece = all[emitted..safe];
        emitted = safe;
        return piece;
    }

    private string Flush()
    {
        var piece = text.ToString(emitted, text.Length - emitted);
        emitted = text.Length;
        return piece;
    }

    /// <inheritdoc />
    public void Dispose() => Hidden.Dispose();
}
