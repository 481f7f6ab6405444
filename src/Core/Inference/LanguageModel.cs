using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// A loaded model version that answers next-word, scoring and generation, in eval mode without gradients.
/// Not thread-safe: call it from one thread (the host's scheduler thread for this model).
/// Every text is read as the model was trained: a line start is the state after &lt;eos&gt;.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    private readonly RnnLanguageModel net;

    /// <summary>Wraps a model, its vocabulary and tokenizer.</summary>
    public LanguageModel(ModelManifest manifest, RnnLanguageModel net, Vocabulary vocabulary, ITokenizer tokenizer)
    {
        Manifest = manifest;
        this.net = net;
        Vocabulary = vocabulary;
        Tokenizer = tokenizer;
        net.eval();
    }

    /// <summary>Loads a model version directory (see <see cref="ModelArtifacts"/>).</summary>
    public static LanguageModel Load(string directory)
    {
        var (manifest, model, vocabulary) = ModelArtifacts.Load(directory);
        return new LanguageModel(manifest, model, vocabulary, ModelArtifacts.ReadTokenizer(directory, manifest));
    }

    /// <summary>What the model is.</summary>
    public ModelManifest Manifest { get; }
    /// <summary>Its vocabulary.</summary>
    public Vocabulary Vocabulary { get; }
    /// <summary>Its tokenizer.</summary>
    public ITokenizer Tokenizer { get; }
    /// <summary>Time steps the RNN has run (for tests that count work).</summary>
    public long StepsRun => net.StepsRun;

    /// <summary>
    /// Tokens of a text: lines tokenized, &lt;eos&gt; between lines (and after a final line break). As in training,
    /// the word tokenizer skips blank lines; the character tokenizer keeps them.
    /// </summary>
    public IReadOnlyList<string> TokensOf(string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var tokens = new List<string>();
        var word = Tokenizer.Options.Kind == TokenizerKind.Word;
        for (var i = 0; i < lines.Length; i++)
        {
            if (word && i < lines.Length - 1 && string.IsNullOrWhiteSpace(lines[i])) continue;
            tokens.AddRange(Tokenizer.TokenizeLine(lines[i]));
            if (i < lines.Length - 1) tokens.Add(Vocabulary.Eos);
        }
        return tokens;
    }

    /// <summary>The next-word distribution for one context.</summary>
    public NextWordResult NextWord(NextWordQuery query) => NextWordBatch([query])[0];

    /// <summary>
    /// Next-word distributions for several contexts in one forward pass: sequences are right-padded and each
    /// answer is read at its own last position, so it equals the unbatched answer (the RNN is causal).
    /// </summary>
    public IReadOnlyList<NextWordResult> NextWordBatch(IReadOnlyList<NextWordQuery> queries)
    {
        var encoded = queries.Select(q => EncodeContext(q)).ToList();
        var rows = RunLastRows(encoded.Select(e => e.Ids).ToList());                          // B × V log-probs
        var results = new List<NextWordResult>(queries.Count);
        for (var b = 0; b < queries.Count; b++)
        {
            var lp = rows[b];
            var top = Sampler.TopIndices(lp, queries[b].TopK)
                .Select(i => new WordProbability(Vocabulary[i], Math.Exp(lp[i]), lp[i])).ToList();
            var candidates = (queries[b].Candidates ?? []).Select(c => Candidate(c, lp)).ToList();
            var entropy = 0.0;
            foreach (var l in lp) entropy -= Math.Exp(l) * l;
            var result = new NextWordResult(top, candidates, entropy, encoded[b].Unknown, encoded[b].Ids.Length - 1);
            results.Add(Tokenizer is BpeTokenizer bpe ? WordCompletion.Complete(net, Vocabulary, bpe, queries[b], encoded[b].Ids, result) : result);
        }
        return results;
    }

    /// <summary>Scores one text.</summary>
    public ScoreResult Score(string text) => ScoreBatch([text])[0];

    /// <summary>Per-token log-probabilities of several texts in one padded forward pass.</summary>
    public IReadOnlyList<ScoreResult> ScoreBatch(IReadOnlyList<string> texts)
    {
        var tokenLists = texts.Select(t => TokensOf(t)).ToList();
        for (var i = 0; i < tokenLists.Count; i++)
            InvalidSettingException.Check(tokenLists[i].Count > 0, "text", "the text to score has no tokens.");
        var ids = tokenLists.Select(t => Prefix(Vocabulary.Encode(t))).ToList();              // [eos, t1..tn]
        var maxLen = ids.Max(x => x.Length) - 1;
        var b = ids.Count;
        var inputs = new long[maxLen * b];
        var targets = new long[maxLen * b];
        for (var j = 0; j < b; j++)
            for (var t = 0; t < maxLen; t++)
            {
                var ok = t + 1 < ids[j].Length;
                inputs[t * b + j] = ok ? ids[j][t] : Vocabulary.EosId;                        // right padding
                targets[t * b + j] = ok ? ids[j][t + 1] : Vocabulary.EosId;
            }

        float[] picked;
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var input = tensor(inputs, [maxLen, b]);                                            // (T, B)
            using var state = net.InitialState(b);
            var (output, next) = net.Hidden(input, state);                                      // (T, B, H)
            next.Dispose();
            var gathered = net.TargetLogProbs(output.reshape(maxLen * b, -1), tensor(targets));  // (T*B), row t*b + j
            picked = gathered.contiguous().data<float>().ToArray();
        }

        var results = new List<ScoreResult>(b);
        for (var j = 0; j < b; j++)
        {
            var scores = new List<TokenScore>();
            double total = 0;
            for (var t = 0; t < ids[j].Length - 1; t++)
            {
                double l = picked[t * b + j];
                total += l;
                var tok = tokenLists[j][t];
                scores.Add(new TokenScore(tok, l, Vocabulary.Contains(tok)));
            }
            results.Add(new ScoreResult(scores, total, Math.Exp(-total / scores.Count)));
        }
        return results;
    }

    /// <summary>Starts a continuation of <paramref name="prompt"/>: runs the prompt once and keeps the hidden state.</summary>
    public GenerationStream StartGeneration(string prompt, GenerationOptions options)
    {
        options.Validate(Vocabulary.Count);
        var ids = Prefix(Vocabulary.Encode(TokensOf(prompt)));
        var (rows, state) = Forward([ids], keepState: true);
        var open = prompt.Length > 0 && !char.IsWhiteSpace(prompt[^1]);
        return new GenerationStream(options, state!, rows[0], ids.Skip(1).Select(i => (int)i), Tokenizer.Options.Kind == TokenizerKind.Word, open, Tokenizer is BpeTokenizer);
    }

    /// <summary>
    /// Advances each unfinished stream by one token. The chosen tokens are fed back together as one (1, B)
    /// step, so several streams cost one RNN step per token between them.
    /// </summary>
    public IReadOnlyList<GeneratedToken?> Step(IReadOnlyList<GenerationStream> streams)
    {
        var produced = new GeneratedToken?[streams.Count];
        var feed = new List<(GenerationStream Stream, int Id)>();
        for (var i = 0; i < streams.Count; i++)
        {
            if (streams[i].Finish is not null) continue;
            var (token, id, more) = streams[i].Advance(Vocabulary);
            produced[i] = token;
            if (more) feed.Add((streams[i], id));
        }
        if (feed.Count == 0) return produced;

        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var input = tensor(feed.Select(f => (long)f.Id).ToArray(), [1, feed.Count]);        // (1, B)
            var state = RnnState.Concat(feed.Select(f => f.Stream.Hidden).ToList());
            var (output, next) = net.Hidden(input, state);                                      // (1, B, H)
            var flat = net.LogProbs(output.squeeze(0)).contiguous().data<float>().ToArray();    // B × V log-probs
            var v = Vocabulary.Count;
            for (var j = 0; j < feed.Count; j++)
            {
                var s = feed[j].Stream;
                s.Hidden.Dispose();
                s.Hidden = next.Select(j).DetachFromDisposeScope();
                s.Logits = flat.AsSpan(j * v, v).ToArray();
            }
        }
        return produced;
    }

    /// <summary>Generates a whole continuation (one stream), stopping early when <paramref name="cancellation"/> fires.</summary>
    public GenerationStream Generate(string prompt, GenerationOptions options, CancellationToken cancellation = default)
    {
        var stream = StartGeneration(prompt, options);
        while (stream.Finish is null)
        {
            cancellation.ThrowIfCancellationRequested();
            Step([stream]);
        }
        return stream;
    }

    private (long[] Ids, IReadOnlyList<string> Unknown) EncodeContext(NextWordQuery q)
    {
        InvalidSettingException.Check(q.TopK >= 1 && q.TopK <= Vocabulary.Count, "topK", $"topK must be between 1 and the vocabulary size {Vocabulary.Count} (was {q.TopK}).");
        InvalidSettingException.Check(!string.IsNullOrWhiteSpace(q.Context), "context", "the context is empty.");
        var tokens = TokensOf(q.Context);
        var unknown = tokens.Where(t => !Vocabulary.Contains(t)).Distinct().ToList();
        InvalidSettingException.Check(tokens.Any(t => Vocabulary.Contains(t) && t != Vocabulary.Eos), "context",
            $"none of the context's words is in the model's vocabulary ({string.Join(", ", unknown.Take(5))}).");
        return (Prefix(Vocabulary.Encode(tokens)), unknown);
    }

    private WordProbability Candidate(string word, double[] logProbs)
    {
        var tokens = Tokenizer.TokenizeLine(word);
        var token = tokens.Count == 1 ? tokens[0] : word;
        var id = Vocabulary.IdOf(token);
        var known = Vocabulary.Contains(token);
        return new WordProbability(word, Math.Exp(logProbs[id]), logProbs[id], known);
    }

    private long[] Prefix(long[] ids) => [Vocabulary.EosId, .. ids];

    private List<double[]> RunLastRows(IReadOnlyList<long[]> sequences)
    {
        var (rows, _) = Forward(sequences, keepState: false);
        return rows.Select(r => Sampler.LogSoftmax(r)).ToList();
    }

    /// <summary>Runs right-padded sequences; returns each one's logits at its last position (and the state, for one sequence).</summary>
    private (List<float[]> LastLogits, RnnState? State) Forward(IReadOnlyList<long[]> sequences, bool keepState)
    {
        var b = sequences.Count;
        var maxLen = sequences.Max(s => s.Length);
        var flat = new long[maxLen * b];
        for (var t = 0; t < maxLen; t++)
            for (var j = 0; j < b; j++)
                flat[t * b + j] = t < sequences[j].Length ? sequences[j][t] : Vocabulary.EosId;   // right padding
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var input = tensor(flat, [maxLen, b]);                                                     // (T, B)
        var (output, next) = net.Hidden(input, net.InitialState(b));                               // (T, B, H)
        var last = tensor(sequences.Select(s => (long)s.Length - 1).ToArray());                   // (B)
        var v = Vocabulary.Count;
        // (T, B, H) → pick row last[j] of column j → (B, H) → log-probs (B, V)
        var index = last.view(1, b, 1).expand(1, b, output.shape[2]);
        var rows = net.LogProbs(output.gather(0, index).squeeze(0)).contiguous().data<float>().ToArray();
        var result = Enumerable.Range(0, b).Select(j => rows.AsSpan(j * v, v).ToArray()).ToList();
        return (result, keepState ? next.DetachFromDisposeScope() : null);
    }

    /// <inheritdoc />
    public void Dispose() => net.Dispose();
}
