using System.Buffers;
using System.Text;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// Next-word answers for a subword (BPE) model, whose tokens are often pieces of words. Each of the top tokens is
/// extended greedily — the most probable next token, while it continues the word (anything after a token of only
/// spaces; letters, digits or marks after a letter, digit or mark; the rest of a character cut inside its UTF-8 bytes), at most
/// <see cref="MaxExtension"/> tokens — and reported as the text it appends to the context (a leading space when it
/// starts a new word) with the probability of that greedy path, a lower bound of the word's probability. Top
/// tokens that complete to the same text are reported once, with the most probable path. Candidate words are
/// priced exactly: the chain-rule product over their tokens (preceded by a space when the context does not end
/// in whitespace). <see cref="NextWordResult.Completion"/> says <see cref="GreedyWord"/>.
/// </summary>
internal static class WordCompletion
{
    /// <summary>The <see cref="NextWordResult.Completion"/> of word and character models: each answer is one token.</summary>
    public const string Token = "token";

    /// <summary>The <see cref="NextWordResult.Completion"/> of BPE models: top tokens extended greedily to a word boundary.</summary>
    public const string GreedyWord = "greedy-word";

    /// <summary>Most tokens added to a top token.</summary>
    public const int MaxExtension = 8;

    /// <summary>
    /// Rewrites a token-level answer of a BPE model into words. <paramref name="state"/> is the state after the context
    /// (layers, 1, H) and <paramref name="after"/> the log-probabilities (V) there; the caller holds <c>no_grad</c>.
    /// </summary>
    public static NextWordResult Complete(RnnLanguageModel net, Vocabulary vocabulary, BpeTokenizer tokenizer, NextWordQuery query, RnnState state, Tensor after, NextWordResult tokens)
    {
        using var scope = NewDisposeScope();
        var first = after.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        var firstIds = tokens.Top.Select(w => (long)vocabulary.IdOf(w.Word)).ToArray();
        var top = Extend(net, vocabulary, state, firstIds, tokens.Top.Select(w => w.LogProbability).ToArray());
        var open = query.Context.Length > 0 && !char.IsWhiteSpace(query.Context[^1]);
        var candidates = (query.Candidates ?? []).Select(c => Price(net, vocabulary, tokenizer, first, state, c, open)).ToList();
        return tokens with { Top = top, Candidates = candidates, Completion = GreedyWord };
    }

    private static List<WordProbability> Extend(RnnLanguageModel net, Vocabulary vocabulary, RnnState state, long[] firstIds, double[] firstLogProbs)
    {
        var k = firstIds.Length;
        var bytes = firstIds.Select(id => TokenBytes(vocabulary, id)).ToArray();
        var logProbs = (double[])firstLogProbs.Clone();
        var open = bytes.Select(b => Continues(b, null)).ToArray();       // may the word go on?
        var feed = (long[])firstIds.Clone();
        var current = Expand(state, k);
        for (var step = 0; step < MaxExtension && open.Any(o => o); step++)
        {
            var (rows, next) = Run(net, feed, current, streams: true);     // (K, V)
            current = next;
            for (var i = 0; i < k; i++)
            {
                if (!open[i]) continue;
                var row = rows[i];
                var best = Array.IndexOf(row, row.Max());
                var piece = TokenBytes(vocabulary, best);
                if (best < 2 || !Continues(bytes[i], piece)) { open[i] = false; continue; }
                bytes[i] = [.. bytes[i], .. piece];
                logProbs[i] += row[best];
                feed[i] = best;
            }
        }
        return Enumerable.Range(0, k)
            .Select(i => new WordProbability(firstIds[i] < 2 ? vocabulary[(int)firstIds[i]] : Encoding.UTF8.GetString(bytes[i]), Math.Exp(logProbs[i]), logProbs[i]))
            .GroupBy(w => w.Word, StringComparer.Ordinal).Select(g => g.MaxBy(w => w.LogProbability)!)
            .OrderByDescending(w => w.LogProbability).ToList();
    }

    private static WordProbability Price(RnnLanguageModel net, Vocabulary vocabulary, BpeTokenizer tokenizer, double[] first, RnnState state, string word, bool open)
    {
        var ids = vocabulary.Encode(tokenizer.TokenizeLine(open ? " " + word : word));
        var (row, current, logProb) = (first, state, 0.0);
        for (var i = 0; i < ids.Length; i++)
        {
            logProb += row[ids[i]];
            if (i + 1 == ids.Length) break;
            var (rows, next) = Run(net, [ids[i]], current);
            (row, current) = (rows[0], next);
        }
        return new WordProbability(word, Math.Exp(logProb), logProb);
    }

    /// <summary>
    /// Runs <paramref name="ids"/> from <paramref name="state"/>: as one sequence (T, 1) by default, or as one step of
    /// ids.Length streams (1, K) with <paramref name="streams"/>. Returns each stream's log-probabilities after its
    /// last step (B, V) and the new state.
    /// </summary>
    private static (double[][] Rows, RnnState State) Run(RnnLanguageModel net, long[] ids, RnnState state, bool streams = false)
    {
        var input = streams ? tensor(ids, [1, ids.Length]) : tensor(ids, [ids.Length, 1]);
        var (output, next) = net.Recur(input, state);                                 // (T, B, H)
        var last = output.narrow(0, output.shape[0] - 1, 1).squeeze(0);               // (B, H)
        return (Rows(net.LogProbs(last)), next);
    }

    private static double[][] Rows(Tensor logProbs)
    {
        var (b, v) = ((int)logProbs.shape[0], (int)logProbs.shape[1]);
        var flat = logProbs.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        return Enumerable.Range(0, b).Select(i => flat.AsSpan(i * v, v).ToArray()).ToArray();
    }

    private static RnnState Expand(RnnState state, int k) =>
        new(state.H.expand(-1, k, -1).contiguous(), state.C?.expand(-1, k, -1).contiguous());

    private static byte[] TokenBytes(Vocabulary vocabulary, long id)
    {
        var bytes = new List<byte>();
        var token = vocabulary[(int)id];
        if (id >= 2) ByteLevel.TryAppendBytes(token, bytes);
        return [.. bytes];
    }

    /// <summary>Whether <paramref name="next"/> continues the word in <paramref name="word"/> (null: whether anything may).</summary>
    private static bool Continues(byte[] word, byte[]? next)
    {
        if (word.Length == 0) return false;
        if (Rune.DecodeLastFromUtf8(word, out var last, out _) != OperationStatus.Done) return true;   // a character cut in two
        if (string.IsNullOrWhiteSpace(Encoding.UTF8.GetString(word))) return next is null || next.Length > 0; // the word has not begun
        if (!IsWordRune(last)) return false;
        if (next is null) return true;
        if (next.Length == 0) return false;
        if (Rune.DecodeFromUtf8(next, out var first, out _) == OperationStatus.Done) return IsWordRune(first);
        return next[0] >= 0xC0;                   // a character begun here and finished in a later token: take it as the word's
    }

    private static bool IsWordRune(Rune r) => Rune.IsLetterOrDigit(r) || Rune.GetUnicodeCategory(r) is
        System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark;
}
