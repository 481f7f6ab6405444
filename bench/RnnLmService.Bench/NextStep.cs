using System.Diagnostics;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using static TorchSharp.torch;

namespace RnnLmService.Bench;

/// <summary>
/// In-process comparison of one next-word batch: the service's path (<c>LanguageModel.NextWordBatch</c> with the
/// load client's query: the context as text, top 10, the state cache off) next to the bare batched loop of
/// <see cref="BareServing"/> (ids already encoded, last position decoded, float32 log-softmax and a top-10), same
/// model, same thread count, same batch, interleaved repetitions. No HTTP, no scheduler: what remains between the
/// two is the engine's own overhead per batch.
/// </summary>
internal static class NextStep
{
    public static int Run(string modelDir, Args a)
    {
        var contextsPath = a.Get("contexts", "bench/out/kjv/test.txt");
        int batch = a.Int("batch", 32), words = a.Int("words", 20), batches = a.Int("batches", 200), reps = a.Int("reps", 3), threads = a.Int("threads", 1);
        a.RejectUnknown();

        set_num_threads(threads);
        using var model = LanguageModel.Load(modelDir, new InferenceLimits { StateCacheBytes = 0 });
        var (_, net, vocabulary) = ModelArtifacts.Load(modelDir);
        using var _net = net;
        net.eval();
        var text = File.ReadAllText(contextsPath).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var count = Math.Max(batch, (text.Length - words) / 97);
        var prompts = Enumerable.Range(0, count).Select(i => string.Join(' ', text.Skip(i * 97).Take(words))).ToArray();
        var contexts = prompts.Select(p => (long[])[vocabulary.EosId, .. vocabulary.Encode(p.Split(' ').ToList())]).ToArray();

        Service(model, prompts, batch, 10);                                                          // warm-up
        Bare(net, contexts, batch, 10);
        for (var rep = 1; rep <= reps; rep++)
        {
            var service = Service(model, prompts, batch, batches);
            var bare = Bare(net, contexts, batch, batches);
            Emit(new { benchmark = "nextstep", rep, batch, words, threads, batches,
                serviceMsPerBatch = Math.Round(service * 1000 / batches, 3), bareMsPerBatch = Math.Round(bare * 1000 / batches, 3),
                ratio = Math.Round(bare / service, 3) });
        }
        return 0;
    }

    private static double Service(LanguageModel model, string[] prompts, int batch, int batches)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < batches; i++)
        {
            var queries = Enumerable.Range(0, batch).Select(j => new NextWordQuery(prompts[(i * batch + j) % prompts.Length], 10)).ToList();
            _ = model.NextWordBatch(queries);
        }
        return watch.Elapsed.TotalSeconds;
    }

    private static double Bare(Core.Modeling.RnnLanguageModel net, long[][] contexts, int batch, int batches)
    {
        var watch = Stopwatch.StartNew();
        using var noGrad = no_grad();
        for (var i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            var ids = Enumerable.Range(0, batch).Select(j => contexts[(i * batch + j) % contexts.Length]).ToArray();
            var t = ids.Max(x => x.Length);
            var flat = new long[t * batch];
            for (var j = 0; j < batch; j++)
                for (var s = 0; s < t; s++) flat[s * batch + j] = s < ids[j].Length ? ids[j][s] : 0;
            var (output, _) = net.Recur(tensor(flat, [t, batch]), net.InitialState(batch));
            var (values, indices) = net.Decode(output[^1]).log_softmax(-1).topk(10, -1);
            _ = values.data<float>().ToArray();
            _ = indices.data<long>().ToArray();
        }
        return watch.Elapsed.TotalSeconds;
    }

    private static void Emit(object line) => Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(line));
}
