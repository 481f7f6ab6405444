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
/// Only what is read is decoded: next-word and generation decode each sequence's last position (its own final
/// state's top layer); scoring decodes in bounded time chunks. States after recent contexts are kept in a
/// <see cref="StateCache"/>, so a context that extends one read before costs only the new tokens.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    private readonly RnnLanguageModel net;
    private readonly PackedDecoder? packed;

    /// <summary>
    /// Wraps a model, its vocabulary and tokenizer. With <paramref name="packDecoder"/> (a model loaded for serving, whose
    /// weights no longer change) a full-softmax decoder is also kept packed for <see cref="PackedDecoder"/> where the CPU
    /// runs it, and next-word and generation decode their last positions with it.
    /// </summary>
    public LanguageModel(ModelManifest manifest, RnnLanguageModel net, Vocabulary vocabulary, ITokenizer tokenizer, InferenceLimits? limits = null,
        bool packDecoder = false)
    {
        Limits = limits ?? new InferenceLimits();
        Limits.Validate();
        Manifest = manifest;
        this.net = net;
        Vocabulary = vocabulary;
        Tokenizer = tokenizer;
        Cache = new StateCache(Limits.StateCacheBytes);
        net.eval();
        if (packDecoder && PackedDecoder.Supported && !net.Options.IsAdaptive)
        {
            var weights = net.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            packed = new PackedDecoder(weights["decoder.weight"], weights["decoder.bias"]);
        }
    }

    /// <summary>Loads a model version directory (see <see cref="ModelArtifacts"/>) for serving: its weights are fixed from here on, so the decoder is packed.</summary>
    public static LanguageModel Load(string directory, InferenceLimits? limits = null)
    {
        var (manifest, model, vocabulary) = ModelArtifacts.Load(directory);
        return new LanguageModel(manifest, model, vocabulary, ModelArtifacts.ReadTokenizer(directory, manifest), limits, packDecoder: true);
    }

    /// <summary>Whether the last positions are decoded by a <see cref="PackedDecoder"/> (and how many bytes its copy holds), else by LibTorch's linear.</summary>
    public long PackedDecoderBytes => packed?.Bytes ?? 0;

    /// <summary>What the model is.</summary>
    public ModelManifest Manifest { get; }
    /// <summary>Its vocabulary.</summary>
    public Vocabulary Vocabulary { get; }
    /// <summary>Its tokenizer.</summary>
    public ITokenizer Tokenizer { get; }
    /// <summary>Chunk sizes and the cache budget.</summary>
    public InferenceLimits Limits { get; }
    /// <summary>States after recently read contexts.</summary>
    public StateCache Cache { get; }
    /// <summary>The network itself (eval mode), for interpretability code that reads its weights and for tests' reference answers; same thread rule.</summary>
    public RnnLanguageModel Network => net;
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
    /// Next-word distributions for several contexts in one batch: each context is read to its own end (in rectangular segments,
    /// from the longest cached prefix), only the B last positions are decoded, and log-softmax, entropy, top-k and
    /// the candidates' probabilities are computed as (B, V) tensor operations. Equals the unbatched answer.
    /// </summary>
    public IReadOnlyList<NextWordResult> NextWordBatch(IReadOnlyList<NextWordQuery> queries) => NextWordBatch(queries.Select(Prepare).ToList());

    /// <summary>
    /// Checks and encodes a next-word query (see <see cref="Encode(NextWordQuery)"/>) with its candidates' ids, so that the
    /// model's thread does not tokenize it again. Touches no model state: callable from any thread.
    /// </summary>
    public PreparedNextWord Prepare(NextWordQuery query)
    {
        var (ids, unknown) = Encode(query);
        return new PreparedNextWord(query, ids, unknown, (query.Candidates ?? []).Select(CandidateId).ToList());
    }

    /// <summary>Next-word distributions for prepared queries (<see cref="Prepare"/>), in one batch.</summary>
    public IReadOnlyList<NextWordResult> NextWordBatch(IReadOnlyList<PreparedNextWord> prepared)
    {
        var queries = prepared.Select(p => p.Query).ToList();
        var encoded = prepared.Select(p => (p.Ids, p.Unknown)).ToList();
        var candidates = prepared.Select(p => p.Candidates).ToList();
        var b = queries.Count;
        var maxK = queries.Max(q => q.TopK);
        var maxCandidates = Math.Max(1, candidates.Max(c => c.Count));
        long[] topIds;
        double[] topLp, entropy, candidateLp;
        var results = new List<NextWordResult>(b);
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            using var state = ReadContexts(encoded.Select(e => e.Ids).ToList());                 // (layers, B, H)
            // Float32 like the network (a log-probability is off by ~1e-7 relative, well inside the 1e-5 the answers
            // are held to); only the few numbers read out are widened. Generation keeps float64 for its seeded draws.
            var lp = packed is null ? net.LogProbs(state.H[^1])                                  // (B, V), full or adaptive softmax
                : packed.Forward(state.H[^1]).log_softmax(-1);
            var (values, ids) = BlockTopK.Of(lp, maxK);                                          // (B, k), sorted
            topIds = ids.contiguous().data<long>().ToArray();
            topLp = Widen(values);
            entropy = Widen(-(lp.exp() * lp).sum(-1));                                           // (B)
            var wanted = new long[b * maxCandidates];
            for (var j = 0; j < b; j++)
                for (var i = 0; i < candidates[j].Count; i++) wanted[j * maxCandidates + i] = candidates[j][i].Id;
            candidateLp = Widen(lp.gather(1, tensor(wanted, [b, maxCandidates])));
            for (var j = 0; j < b; j++) results.Add(TokenAnswer(j));
            // A subword model's top tokens are often pieces of words: complete them from each context's own state.
            if (Tokenizer is BpeTokenizer bpe)
                for (var j = 0; j < b; j++)
                    results[j] = WordCompletion.Complete(net, Vocabulary, bpe, queries[j], state.Select(j), lp[j], results[j]);
        }
        return results;

        NextWordResult TokenAnswer(int j)
        {
            var top = Enumerable.Range(j * maxK, queries[j].TopK)
                .Select(i => new WordProbability(Vocabulary[(int)topIds[i]], Math.Exp(topLp[i]), topLp[i])).ToList();
            var priced = candidates[j].Select((c, i) =>
            {
                var l = candidateLp[j * maxCandidates + i];
                return new WordProbability(c.Word, Math.Exp(l), l, c.Known);
            }).ToList();
            return new NextWordResult(top, priced, entropy[j], encoded[j].Unknown, encoded[j].Ids.Length - 1);
        }
    }

    /// <summary>Scores one text.</summary>
    public ScoreResult Score(string text, int topK = 0) => ScoreBatch([new ScoreQuery(text, topK)])[0];

    /// <summary>Per-token log-probabilities of several texts (no alternatives).</summary>
    public IReadOnlyList<ScoreResult> ScoreBatch(IReadOnlyList<string> texts) => ScoreBatch(texts.Select(t => new ScoreQuery(t)).ToList());

    /// <summary>
    /// Per-token log-probability, rank, entropy and top alternatives of several texts, read in one padded batch
    /// decoded in bounded time chunks (<see cref="TextScorer"/>).
    /// </summary>
    public IReadOnlyList<ScoreResult> ScoreBatch(IReadOnlyList<ScoreQuery> queries) => ScoreBatch(queries.Select(PrepareScore).ToList());

    /// <summary>Checks and tokenizes a score query (see <see cref="Encode(ScoreQuery)"/>) so the model's thread does not tokenize it again. Callable from any thread.</summary>
    public PreparedScore PrepareScore(ScoreQuery query) => new(query, Encode(query));

    /// <summary>Scores prepared queries (<see cref="PrepareScore"/>) in one batch.</summary>
    public IReadOnlyList<ScoreResult> ScoreBatch(IReadOnlyList<PreparedScore> prepared)
    {
        var queries = prepared.Select(p => p.Query).ToList();
        var tokenLists = prepared.Select(p => p.Tokens).ToList();
        var ids = tokenLists.Select(t => Prefix(Vocabulary.Encode(t))).ToList();              // [eos, t1..tn]
        var steps = ids.Max(x => x.Length) - 1;
        var b = ids.Count;
        var inputs = new long[steps * b];
        var targets = new long[steps * b];
        for (var j = 0; j < b; j++)
            for (var t = 0; t < steps; t++)
            {
                var ok = t + 1 < ids[j].Length;
                inputs[t * b + j] = ok ? ids[j][t] : Vocabulary.EosId;                        // right padding
                targets[t * b + j] = ok ? ids[j][t + 1] : Vocabulary.EosId;
            }
        var topK = queries.Max(q => q.TopK);
        ScoredPositions read;
        using (no_grad())
            read = TextScorer.Run(net, inputs, targets, steps, b, topK, Limits);

        var results = new List<ScoreResult>(b);
        for (var j = 0; j < b; j++)
        {
            var scores = new List<TokenScore>();
            double total = 0;
            for (var t = 0; t < ids[j].Length - 1; t++)
            {
                var at = t * b + j;
                var l = read.LogProbability[at];
                total += l;
                var alternatives = Enumerable.Range(at * topK, queries[j].TopK).Select(i =>
                    new WordProbability(Vocabulary[(int)read.TopIds[i]], Math.Exp(read.TopLogProbabilities[i]), read.TopLogProbabilities[i])).ToList();
                var tok = tokenLists[j][t];
                scores.Add(new TokenScore(tok, l, Vocabulary.Contains(tok), read.Rank[at], read.Entropy[at], alternatives));
            }
            results.Add(new ScoreResult(scores, total, Math.Exp(-total / scores.Count)));
        }
        return results;
    }

    /// <summary>Starts a continuation of <paramref name="prompt"/>: reads the prompt once (from the longest cached prefix) and keeps the state.</summary>
    public GenerationStream StartGeneration(string prompt, GenerationOptions options)
    {
        options.Validate(Vocabulary.Count);
        var ids = Prefix(Vocabulary.Encode(TokensOf(prompt)));
        RnnState state;
        using (no_grad())
        using (var scope = NewDisposeScope())
            state = ReadContexts([ids]).DetachFromDisposeScope();
        var open = prompt.Length > 0 && !char.IsWhiteSpace(prompt[^1]);
        return new GenerationStream(options, state, ids.Skip(1).Select(i => (int)i), Tokenizer.Options.Kind == TokenizerKind.Word, open, Tokenizer is BpeTokenizer);
    }

    /// <summary>
    /// Advances each unfinished stream by one token: the streams' last positions are decoded together (B, V), all
    /// of them sample on the tensor side at once (<see cref="TensorSampler"/>), the top alternatives come from one
    /// topk, and the chosen tokens are fed back together as one (1, B) step.
    /// </summary>
    public IReadOnlyList<GeneratedToken?> Step(IReadOnlyList<GenerationStream> streams)
    {
        var produced = new GeneratedToken?[streams.Count];
        var live = Enumerable.Range(0, streams.Count).Where(i => streams[i].Finish is null).ToList();
        if (live.Count == 0) return produced;

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var state = BatchOf(live.Select(i => streams[i]).ToList());                             // (layers, B, H)
        var lp = LastLogProbabilities(state);                                                    // (B, V) float64
        var chosen = TensorSampler.Choose(lp, live.Select(i => streams[i].Sampling).ToList());
        var chosenLp = lp.gather(1, tensor(chosen, [live.Count, 1])).contiguous().data<double>().ToArray();
        var alternatives = Alternatives(lp, live.Select(i => streams[i].Options.LogProbs).ToList());

        var feed = new List<int>();                                                              // rows of the batch fed back
        for (var j = 0; j < live.Count; j++)
        {
            var (token, more) = streams[live[j]].Advance(Vocabulary, (int)chosen[j], chosenLp[j], alternatives[j]);
            produced[live[j]] = token;
            if (more) feed.Add(j);
        }
        if (feed.Count == 0) return produced;

        var input = tensor(feed.Select(j => chosen[j]).ToArray(), [1, feed.Count]);             // (1, F)
        var fedState = state;
        if (feed.Count < live.Count)
        {
            var rows = tensor(feed.Select(j => (long)j).ToArray());
            fedState = new RnnState(state.H.index_select(1, rows), state.C?.index_select(1, rows));
        }
        var (_, next) = net.Recur(input, fedState);
        var batch = new BatchedState(next.DetachFromDisposeScope());
        batch.Hold();                                                                            // until every row is bound
        for (var f = 0; f < feed.Count; f++) streams[live[feed[f]]].Bind(batch, f);
        batch.Release();
        return produced;
    }

    /// <summary>
    /// The streams' states joined (layers, B, H): when they are exactly the rows, in order, of the batch the last
    /// step left (the same streams stepping again), that batch's tensor itself, else one concatenation.
    /// </summary>
    private static RnnState BatchOf(IReadOnlyList<GenerationStream> streams)
    {
        var batch = streams[0].Batch;
        if (batch is not null && batch.Size == streams.Count && Enumerable.Range(0, streams.Count).All(r => streams[r].IsRow(batch, r)))
            return batch.State;
        return RnnState.Concat(streams.Select(s => s.Hidden).ToList());
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

    /// <summary>The (B, V) float64 log-probabilities after each sequence of <paramref name="state"/>: its top layer decoded.</summary>
    private Tensor LastLogProbabilities(RnnState state)
    {
        var last = state.H[^1];                                                                  // (B, H)
        return (packed?.Forward(last) ?? net.Decode(last)).to_type(ScalarType.Float64).log_softmax(-1);
    }

    private static double[] Widen(Tensor t) => t.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();

    private IReadOnlyList<WordProbability>[] Alternatives(Tensor lp, IReadOnlyList<int> counts)
    {
        var result = new IReadOnlyList<WordProbability>[counts.Count];
        var k = counts.Max();
        if (k == 0)
        {
            Array.Fill(result, []);
            return result;
        }
        var (values, ids) = lp.topk(k, -1);
        var v = values.contiguous().data<double>().ToArray();
        var i = ids.contiguous().data<long>().ToArray();
        for (var j = 0; j < counts.Count; j++)
            result[j] = Enumerable.Range(j * k, counts[j]).Select(x => new WordProbability(Vocabulary[(int)i[x]], Math.Exp(v[x]), v[x])).ToList();
        return result;
    }

    /// <summary>
    /// Each sequence's own final state (layers, B, H), read from the longest cached prefix in chunks of at most
    /// <see cref="InferenceLimits.ChunkTokens"/>; the states are added to the cache. The caller owns the result.
    /// </summary>
    private RnnState ReadContexts(IReadOnlyList<long[]> sequences)
    {
        var starts = new float[]?[sequences.Count];
        var suffixes = new long[sequences.Count][];
        for (var j = 0; j < sequences.Count; j++)
        {
            var (length, cached) = Cache.Find(sequences[j]);
            starts[j] = cached;
            suffixes[j] = sequences[j][length..];
        }
        // With no cached prefix at all (always so with the cache off) the batch starts from one zero state.
        var o = net.Options;
        using var start = starts.All(s => s is null)
            ? net.InitialState(sequences.Count)
            : StateCache.Gather(starts, o.Layers, o.HiddenSize, o.CellType == CellType.Lstm);
        var final = ContextRunner.Run(net, suffixes, start, Limits.ChunkTokens);
        if (Cache.Budget > 0 && suffixes.Any(s => s.Length > 0))
        {
            var rows = StateCache.Scatter(final);
            for (var j = 0; j < sequences.Count; j++)
                if (suffixes[j].Length > 0) Cache.Add(sequences[j], rows[j]);
        }
        return final;
    }

    /// <summary>
    /// Checks a next-word query (topK, a context with at least one known word) and returns the ids it is read as
    /// (line-start token first) and its unknown words. Touches no model state: callable from any thread.
    /// </summary>
    public (long[] Ids, IReadOnlyList<string> Unknown) Encode(NextWordQuery q)
    {
        InvalidSettingException.Check(q.TopK >= 1 && q.TopK <= Vocabulary.Count, "topK", $"topK must be between 1 and the vocabulary size {Vocabulary.Count} (was {q.TopK}).");
        var tokens = TokensOf(q.Context);
        var ids = Vocabulary.Encode(tokens);                                                  // one lookup per token
        var unknown = new List<string>();
        var anyWord = false;
        for (var i = 0; i < ids.Length; i++)
        {
            if (ids[i] == Vocabulary.UnkId && tokens[i] != Vocabulary.Unk) unknown.Add(tokens[i]);
            else if (ids[i] != Vocabulary.EosId) anyWord = true;                             // a word of the vocabulary, <unk> itself included
        }
        if (unknown.Count > 1) unknown = unknown.Distinct().ToList();                         // (a set only when there is something to dedupe)
        InvalidSettingException.Check(anyWord, "context",
            $"none of the context's words is in the model's vocabulary ({string.Join(", ", unknown.Take(5))}).");
        return (Prefix(ids), unknown);
    }

    /// <summary>Checks a score query (topK, a text with tokens) and returns its tokens. Callable from any thread.</summary>
    public IReadOnlyList<string> Encode(ScoreQuery q)
    {
        InvalidSettingException.Check(q.TopK >= 0 && q.TopK <= Vocabulary.Count, "topK", $"topK must be between 0 and the vocabulary size {Vocabulary.Count} (was {q.TopK}).");
        var tokens = TokensOf(q.Text);
        InvalidSettingException.Check(tokens.Count > 0, "text", "the text to score has no tokens.");
        return tokens;
    }

    private CandidateWord CandidateId(string word)
    {
        var tokens = Tokenizer.TokenizeLine(word);
        var token = tokens.Count == 1 ? tokens[0] : word;
        return new CandidateWord(word, Vocabulary.IdOf(token), Vocabulary.Contains(token));
    }

    private long[] Prefix(long[] ids) => [Vocabulary.EosId, .. ids];

    /// <inheritdoc />
    public void Dispose()
    {
        Cache.Clear();
        net.Dispose();
    }
}
