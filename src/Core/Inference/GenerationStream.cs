using System.Text;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Inference;

/// <summary>
/// One continuation being generated: it carries the RNN hidden state after the text so far (the next token's
/// logits are decoded from its top layer), the ids it has seen and its own seeded generator, so each new token
/// costs one RNN step and its draw does not depend on other streams. Stepped by <see cref="LanguageModel.Step"/>,
/// alone or with other streams.
/// </summary>
public sealed class GenerationStream : IDisposable
{
    private readonly List<GeneratedToken> tokens = [];
    private readonly StringBuilder text = new();
    private readonly HashSet<int> seen;
    private readonly Dictionary<int, int> generated = [];
    private readonly Random rng;
    private readonly bool wordLevel;
    private readonly Decoder? utf8; // byte-level (BPE) tokens: a character may be split across tokens
    private int emitted;
    private int previousId = -1;

    internal GenerationStream(GenerationOptions options, RnnState hidden, IEnumerable<int> promptIds, bool wordLevel, bool promptOpen, bool byteLevel = false)
    {
        utf8 = byteLevel ? Encoding.UTF8.GetDecoder() : null;
        Options = options;
        own = hidden;
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

    private RnnState? own;        // the state after the prompt, until the first step
    private BatchedState? batch;  // afterwards: the row of the last step's batch state
    private int row;

    /// <summary>This stream's state (layers, 1, H): its own, or a view of its batch row made in the caller's dispose scope.</summary>
    internal RnnState Hidden => own ?? batch!.State.Select(row);

    /// <summary>Whether this stream is row <paramref name="r"/> of <paramref name="b"/>.</summary>
    internal bool IsRow(BatchedState b, int r) => own is null && batch == b && row == r;

    /// <summary>The batch state this stream's row lives in, if any.</summary>
    internal BatchedState? Batch => own is null ? batch : null;

    /// <summary>From now on this stream's state is row <paramref name="r"/> of <paramref name="b"/>.</summary>
    internal void Bind(BatchedState b, int r)
    {
        b.Hold();
        Release();
        batch = b;
        row = r;
    }

    private void Release()
    {
        own?.Dispose();
        own = null;
        batch?.Release();
        batch = null;
    }

    private bool PromptOpen { get; }

    /// <summary>What the tensor-side sampler needs from this stream.</summary>
    internal SamplingRow Sampling => new(Options, seen, rng, generated);

    /// <summary>Takes the token the sampler chose (with its log-probability and the top alternatives); returns whether it must be fed back.</summary>
    internal (GeneratedToken Token, bool Feed) Advance(Vocabulary vocabulary, int id, double logProbability, IReadOnlyList<WordProbability> alternatives)
    {
        seen.Add(id);
        generated[id] = generated.GetValueOrDefault(id) + 1;
        var word = vocabulary[id];

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
        var token = new GeneratedToken(word, piece, logProbability, alternatives);
        tokens.Add(token);
        return (token, Finish is null);
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
    public void Dispose() => Release();
}
