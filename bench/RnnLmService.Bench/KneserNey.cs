using System.Diagnostics;
using System.Text.Json;

namespace RnnLmService.Bench;

/// <summary>
/// Interpolated modified Kneser-Ney (Chen &amp; Goodman 1998): three discounts per order (for counts 1, 2, 3+)
/// estimated from count-of-counts; the top order uses raw counts, lower orders continuation counts
/// (distinct left extensions); the unigram level interpolates with the uniform distribution over the
/// vocabulary, so every token, <c>&lt;unk&gt;</c> and <c>&lt;eos&gt;</c> included, has probability above 0.
/// Token ids must be below 65535 (a context of up to 4 ids is packed in 64 bits).
/// </summary>
internal sealed class KneserNey
{
    private const ulong Base = 65536;

    private readonly int _order;
    private readonly int _vocabulary;
    // Per order k (index k-1): the (modified) count of each k-gram, keyed by (context, word) ...
    private readonly Dictionary<(ulong Context, long Word), long>[] _counts;
    // ... and per context: total of those counts and how many words follow it with count 1, 2 and 3+.
    private readonly Dictionary<ulong, (long Total, int N1, int N2, int N3)>[] _contexts;
    private readonly (double D1, double D2, double D3)[] _discounts;

    public KneserNey(long[] train, int order, int vocabulary)
    {
        if (order is < 1 or > 5) throw new ArgumentException("order must be 1..5");
        if (vocabulary >= (int)Base - 1) throw new ArgumentException("vocabulary too large for packed contexts");
        _order = order;
        _vocabulary = vocabulary;

        // Raw counts of every k-gram, k = 1..order.
        var raw = new Dictionary<(ulong, long), long>[order];
        for (int k = 1; k <= order; k++)
        {
            var d = raw[k - 1] = new Dictionary<(ulong, long), long>();
            for (int i = k - 1; i < train.Length; i++)
            {
                var key = (Pack(train.AsSpan(i - k + 1, k - 1)), train[i]);
                d[key] = d.GetValueOrDefault(key) + 1;
            }
        }

        // Top order: raw counts. Lower orders: continuation counts N1+(• context word).
        _counts = new Dictionary<(ulong, long), long>[order];
        _counts[order - 1] = raw[order - 1];
        for (int k = order - 1; k >= 1; k--)
        {
            var d = _counts[k - 1] = new Dictionary<(ulong, long), long>();
            var dropOldest = Pow(Base, k - 1);                 // a (k+1)-gram's context has k ids; its suffix keeps k-1
            foreach (var (context, word) in raw[k].Keys)
            {
                var key = (context % dropOldest, word);
                d[key] = d.GetValueOrDefault(key) + 1;
            }
        }

        _contexts = new Dictionary<ulong, (long, int, int, int)>[order];
        _discounts = new (double, double, double)[order];
        for (int k = 1; k <= order; k++)
        {
            var stats = _contexts[k - 1] = new Dictionary<ulong, (long, int, int, int)>();
            var countOfCounts = new long[5];
            foreach (var ((context, _), c) in _counts[k - 1])
            {
                var (total, n1, n2, n3) = stats.GetValueOrDefault(context);
                stats[context] = (total + c, n1 + (c == 1 ? 1 : 0), n2 + (c == 2 ? 1 : 0), n3 + (c >= 3 ? 1 : 0));
                if (c <= 4) countOfCounts[c]++;
            }
            _discounts[k - 1] = Discounts(countOfCounts);
        }
    }

    /// <summary>Chen &amp; Goodman's estimates: Y = n1/(n1+2n2), D1 = 1-2Y n2/n1, D2 = 2-3Y n3/n2, D3+ = 3-4Y n4/n3, each kept in [0, c].</summary>
    private static (double, double, double) Discounts(long[] n)
    {
        if (n[1] == 0 || n[2] == 0) return (0.5, 1.0, 1.5);
        double y = n[1] / (double)(n[1] + 2 * n[2]);
        double d1 = 1 - 2 * y * n[2] / n[1];
        double d2 = n[2] > 0 ? 2 - 3 * y * n[3] / n[2] : 1;
        double d3 = n[3] > 0 ? 3 - 4 * y * n[4] / n[3] : 1.5;
        return (Math.Clamp(d1, 0, 1), Math.Clamp(d2, 0, 2), Math.Clamp(d3, 0, 3));
    }

    /// <summary>P(word | history), using the last order-1 ids of <paramref name="history"/>.</summary>
    public double Probability(ReadOnlySpan<long> history, long word)
    {
        if (history.Length > _order - 1) history = history[^(_order - 1)..];
        double lower = history.Length == 0 ? 1.0 / _vocabulary : Probability(history[1..], word);
        int k = history.Length + 1;
        var context = Pack(history);
        if (!_contexts[k - 1].TryGetValue(context, out var s)) return lower;
        var c = _counts[k - 1].GetValueOrDefault((context, word));
        var (d1, d2, d3) = _discounts[k - 1];
        double discount = c switch { 0 => 0, 1 => d1, 2 => d2, _ => d3 };
        double gamma = (d1 * s.N1 + d2 * s.N2 + d3 * s.N3) / s.Total;
        return (c - discount) / s.Total + gamma * lower;
    }

    private static ulong Pack(ReadOnlySpan<long> ids)
    {
        ulong key = 0;
        foreach (var id in ids) key = unchecked(key * Base + (ulong)(id + 1));
        return key;
    }

    private static ulong Pow(ulong b, int e)
    {
        ulong r = 1;
        for (int i = 0; i < e; i++) r = unchecked(r * b);
        return r;
    }

    /// <summary>
    /// Mean negative log-probability over exactly the targets the engine's evaluator scores: the split cut into
    /// up to 10 contiguous streams (the remainder dropped), every token after a stream's first predicted from
    /// the tokens before it in that stream. <c>&lt;eos&gt;</c> is a target like any word.
    /// </summary>
    public (double MeanNll, long Count) Evaluate(long[] ids, int streams)
    {
        streams = (int)Math.Max(1, Math.Min(streams, (ids.Length - 1) / 2));
        long rows = ids.Length / streams;
        double nll = 0;
        long count = 0;
        for (int b = 0; b < streams; b++)
        {
            var stream = ids.AsSpan((int)(b * rows), (int)rows);
            for (int t = 1; t < rows; t++)
            {
                var start = Math.Max(0, t - (_order - 1));
                nll -= Math.Log(Probability(stream[start..t], stream[t]));
                count++;
            }
        }
        return (nll / count, count);
    }

    /// <summary>Sums P(w | h) over the whole vocabulary for a few test histories (every length up to order-1); each sum must be 1.</summary>
    private void CheckNormalised(long[] ids)
    {
        double worst = 0;
        for (int t = 10; t < ids.Length; t += ids.Length / 25)
            for (int len = 0; len < _order; len++)
            {
                double sum = 0;
                for (int w = 0; w < _vocabulary; w++) sum += Probability(ids.AsSpan(t - len, len), w);
                worst = Math.Max(worst, Math.Abs(sum - 1));
            }
        Console.Error.WriteLine($"[kn] largest |sum P(w|h) - 1| over sampled histories: {worst:E2}");
        if (worst > 1e-6) throw new InvalidOperationException("the n-gram model does not sum to 1");
    }

    public static int Run(string dir, Args a)
    {
        int order = a.Int("order", 3), vocab = a.Int("vocab", 10000);
        var check = a.Bool("check", false);
        a.RejectUnknown();
        var clock = Stopwatch.StartNew();
        var corpus = BenchData.Load(dir, vocab);
        var lm = new KneserNey(corpus.Train, order, corpus.Vocabulary.Count);
        if (check) lm.CheckNormalised(corpus.Test);
        var (valid, _) = lm.Evaluate(corpus.Valid, 10);
        var (test, testCount) = lm.Evaluate(corpus.Test, 10);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            contender = $"kn{order}",
            model = $"interpolated modified Kneser-Ney, order {order}",
            vocab = corpus.Vocabulary.Count,
            vocabHash = BenchData.Hash(corpus.Vocabulary),
            trainTokens = corpus.Train.Length,
            testTargets = testCount,
            discounts = lm._discounts.Select(d => new[] { Math.Round(d.D1, 3), Math.Round(d.D2, 3), Math.Round(d.D3, 3) }),
            validPpl = Math.Exp(valid),
            testPpl = Math.Exp(test),
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        }));
        return 0;
    }
}
