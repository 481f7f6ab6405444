using System.Diagnostics;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using static TorchSharp.torch;

namespace RnnLmService.Bench;

/// <summary>
/// In-process comparison of one generation step: the service's path (<see cref="LanguageModel.Step"/> over the
/// scheduler's <see cref="GenerationStream"/> objects, with the load client's options) next to the bare batched loop
/// of <see cref="BareServing"/>, same model, same thread count, interleaved repetitions. No HTTP, no scheduler.
/// </summary>
internal static class GenStep
{
    public static int Run(string modelDir, Args a)
    {
        var contextsPath = a.Get("contexts", "bench/out/kjv/test.txt");
        int streams = a.Int("streams", 16), tokens = a.Int("tokens", 200), reps = a.Int("reps", 3), threads = a.Int("threads", 1);
        a.RejectUnknown();

        set_num_threads(threads);
        using var model = LanguageModel.Load(modelDir);
        var (_, net, vocabulary) = ModelArtifacts.Load(modelDir);
        using var _net = net;
        net.eval();
        var words = File.ReadAllText(contextsPath).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var prompts = Enumerable.Range(0, streams).Select(i => string.Join(' ', words.Skip(i * 97).Take(20))).ToArray();
        var contexts = prompts.Select(p => (long[])[vocabulary.EosId, .. vocabulary.Encode(p.Split(' ').ToList())]).ToArray();
        var rng = new Generator(1234);

        Service(model, prompts, 10);                                                                // warm-up
        using (no_grad()) BareServing.Generate(net, contexts, streams, 10, rng);
        for (var rep = 1; rep <= reps; rep++)
        {
            var service = Service(model, prompts, tokens);
            var watch = Stopwatch.StartNew();
            using (no_grad()) BareServing.Generate(net, contexts, streams, tokens, rng);
            var bare = watch.Elapsed.TotalSeconds;
            Emit(new { benchmark = "genstep", rep, streams, tokens, threads,
                serviceMsPerStep = Math.Round(service * 1000 / tokens, 3), bareMsPerStep = Math.Round(bare * 1000 / tokens, 3),
                ratio = Math.Round(bare / service, 3) });
        }
        return 0;
    }

    /// <summary>Seconds for <paramref name="tokens"/> steps of all streams (prompt reading not timed).</summary>
    private static double Service(LanguageModel model, string[] prompts, int tokens)
    {
        var streams = prompts.Select((p, i) => model.StartGeneration(p, new GenerationOptions
        {
            MaxTokens = tokens, Temperature = 1.0, Seed = i + 1, StopAtEos = false,
        })).ToList();
        var watch = Stopwatch.StartNew();
        while (streams.Any(s => s.Finish is null)) model.Step(streams);
        var seconds = watch.Elapsed.TotalSeconds;
        foreach (var s in streams) s.Dispose();
        return seconds;
    }

    private static void Emit(object line) => Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(line));
}
