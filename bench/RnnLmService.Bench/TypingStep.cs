using System.Diagnostics;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using static TorchSharp.torch;

namespace RnnLmService.Bench;

/// <summary>
/// <c>typingstep &lt;model dir&gt; [contexts= batch=32 reps=3 threads=1 packed=1 profile=]</c>: the typing load's batches in process, no HTTP and no
/// scheduler: <c>batch</c> passages of the test split typed one word at a time from 3 to 60 words, each step one
/// <c>LanguageModel.NextWordBatch</c> of the batch's contexts, with the state cache (the service's default budget) and
/// without it, interleaved. Prints ms per batch and the ratio: the engine's own bound on the service's typing ratio.
/// <c>packed=0</c> decodes with LibTorch's linear instead of the <see cref="PackedDecoder"/> a loaded model uses.
/// </summary>
internal static class TypingStep
{
    public static int Run(string modelDir, Args a)
    {
        var contextsPath = a.Get("contexts", "bench/out/kjv/test.txt");
        int batch = a.Int("batch", 32), reps = a.Int("reps", 3);
        set_num_threads(a.Int("threads", 1));
        var packed = a.Int("packed", 1) == 1;
        var profile = a.Get("profile", "");                          // "cached": only the cached passes, for perf
        a.RejectUnknown();
        var words = File.ReadAllText(contextsPath).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        using var cached = Load(modelDir, new InferenceLimits { StateCacheBytes = 64L << 20 }, packed);
        using var uncached = Load(modelDir, new InferenceLimits { StateCacheBytes = 0 }, packed);
        Typing(cached, words, batch, 0);                                                             // warm-up
        Typing(uncached, words, batch, 0);
        for (var rep = 1; rep <= reps; rep++)
        {
            if (profile == "cached") { Typing(cached, words, batch, rep); continue; }
            var (withCache, steps) = Typing(cached, words, batch, rep);
            var (without, _) = Typing(uncached, words, batch, rep);
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
            {
                benchmark = "typingstep", rep, batch, steps, packed = cached.PackedDecoderBytes > 0,
                cachedMsPerBatch = Math.Round(withCache * 1000 / steps, 3), uncachedMsPerBatch = Math.Round(without * 1000 / steps, 3),
                ratio = Math.Round(without / withCache, 3), cacheHits = cached.Cache.Hits, cacheMisses = cached.Cache.Misses,
            }));
        }
        return 0;
    }

    private static LanguageModel Load(string dir, InferenceLimits limits, bool packed)
    {
        var (manifest, net, vocabulary) = ModelArtifacts.Load(dir);
        return new LanguageModel(manifest, net, vocabulary, ModelArtifacts.ReadTokenizer(dir, manifest), limits, packed);
    }

    /// <summary>One pass: passages chosen by <paramref name="seed"/>, typed from 3 to 60 words; returns seconds and batches.</summary>
    private static (double Seconds, int Steps) Typing(LanguageModel model, string[] words, int batch, int seed)
    {
        var starts = Enumerable.Range(0, batch).Select(j => (int)(((long)(j + 1) * 7919 + seed * 104729L) % (words.Length - 60))).ToArray();
        var watch = Stopwatch.StartNew();
        var steps = 0;
        for (var n = 3; n <= 60; n++, steps++)
            _ = model.NextWordBatch(starts.Select(s => new NextWordQuery(string.Join(' ', words, s, n), 10)).ToList());
        return (watch.Elapsed.TotalSeconds, steps);
    }
}
