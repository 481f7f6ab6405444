using System.Diagnostics;
using RnnLmService.Core.Storage.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Bench;

/// <summary>
/// The limit the service is measured against (issue 12): the same model version, one torch thread, the plainest
/// batched loops. <c>next-word</c>: batches of <c>batch</c> 20-word contexts of the test split (all 21 ids long with
/// the line start), the RNN over the batch, only the last position decoded, log-softmax and a top-10, copied out.
/// <c>generate</c>: <c>streams</c> prompts read as one batch, then per step the B last positions decoded,
/// temperature 1 and Gumbel-max over the batch, one copy of B ids to the CPU, the ids fed back as a (1, B) step.
/// </summary>
internal static class BareServing
{
    public static int Run(string modelDir, Args a)
    {
        var contextsPath = a.Get("contexts", "bench/out/kjv/test.txt");
        int batch = a.Int("batch", 32), words = a.Int("words", 20), threads = a.Int("threads", 1);
        var streams = a.Get("streams", "1,16").Split(',').Select(int.Parse).ToArray();
        var tokens = a.Int("tokens", 200);
        var seconds = a.Double("seconds", 15);
        var rep = a.Int("rep", 1);
        a.RejectUnknown();

        torch.set_num_threads(threads);
        var (_, net, vocabulary) = ModelArtifacts.Load(modelDir);
        using var _net = net;
        net.eval();
        var text = File.ReadAllText(contextsPath).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var contexts = Enumerable.Range(0, Math.Max(1, (text.Length - words) / 97))
            .Select(i => (long[])[vocabulary.EosId, .. vocabulary.Encode(text.Skip(i * 97).Take(words).ToList())]).ToArray();
        using var noGrad = no_grad();

        // next-word: warm up, then as many batches as fit in the window
        var done = 0L;
        var clock = Stopwatch.StartNew();
        var timedFrom = TimeSpan.FromSeconds(2);
        var counted = 0L;
        var start = TimeSpan.Zero;
        for (var i = 0; clock.Elapsed < timedFrom + TimeSpan.FromSeconds(seconds); i++)
        {
            if (start == TimeSpan.Zero && clock.Elapsed >= timedFrom) { start = clock.Elapsed; counted = 0; }
            using var scope = NewDisposeScope();
            var ids = Enumerable.Range(0, batch).Select(j => contexts[(i * batch + j) % contexts.Length]).ToArray();
            var input = tensor(Transpose(ids), [ids[0].Length, batch]);                          // (T, B)
            var (output, _) = net.Recur(input, net.InitialState(batch));
            var lp = net.Decode(output[^1]).log_softmax(-1);                                      // (B, V): last position only
            var (values, indices) = lp.topk(10, -1);
            _ = values.data<float>().ToArray();
            _ = indices.data<long>().ToArray();
            counted += batch;
            done += batch;
        }
        var nextWordSeconds = (clock.Elapsed - start).TotalSeconds;
        Emit(new { benchmark = "bare-next-word", rep, batch, words, threads, contexts = counted, seconds = Math.Round(nextWordSeconds, 2),
            contextsPerSecond = Math.Round(counted / nextWordSeconds, 1) });

        // generation
        var rng = new Generator(1234);
        foreach (var s in streams)
        {
            Generate(net, contexts, s, 10, rng);                                                      // warm-up
            var runs = 0;
            var total = 0L;
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed.TotalSeconds < seconds / 2 || runs < 2)
            {
                total += Generate(net, contexts, s, tokens, rng);
                runs++;
            }
            Emit(new { benchmark = "bare-generate", rep, streams = s, maxTokens = tokens, threads, runs, generatedTokens = total,
                seconds = Math.Round(watch.Elapsed.TotalSeconds, 2), tokensPerSecond = Math.Round(total / watch.Elapsed.TotalSeconds, 1) });
        }
        return 0;
    }

    /// <summary><paramref name="streams"/> continuations of <paramref name="tokens"/> tokens each; returns the tokens made.</summary>
    internal static long Generate(Core.Modeling.RnnLanguageModel net, long[][] contexts, int streams, int tokens, Generator rng)
    {
        using var scope = NewDisposeScope();
        var prompts = contexts.Take(streams).ToArray();
        var (output, state) = net.Recur(tensor(Transpose(prompts), [prompts[0].Length, streams]), net.InitialState(streams));
        var last = output[^1];                                                                     // (B, H)
        for (var t = 0; t < tokens; t++)
        {
            using var step = NewDisposeScope();
            var logits = net.Decode(last);                                                         // (B, V), temperature 1
            var gumbel = -(-rand(logits.shape, generator: rng).log()).log();
            var ids = (logits + gumbel).argmax(-1).data<long>().ToArray();                        // one copy of B ids
            var (o, next) = net.Recur(tensor(ids, [1, streams]), state);
            state = next.MoveToOuterDisposeScope();
            last = o[0].MoveToOuterDisposeScope();
        }
        return (long)streams * tokens;
    }

    private static long[] Transpose(long[][] rows)
    {
        var t = rows[0].Length;
        var flat = new long[t * rows.Length];
        for (var j = 0; j < rows.Length; j++)
            for (var i = 0; i < t; i++) flat[i * rows.Length + j] = rows[j][i];
        return flat;
    }

    private static void Emit(object line) => Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(line, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)));
}
