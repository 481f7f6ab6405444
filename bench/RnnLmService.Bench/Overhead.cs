using System.Diagnostics;
using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Bench;

/// <summary>
/// What our trainer's step does beyond the bare loop, each piece timed alone (best of 5 rounds of N calls),
/// so the figure holds even on a busy machine: the parameter list rebuilt for clipping, the loss
/// accumulation, the hidden-state handover, the progress report's sync. Compare with one full step.
/// </summary>
internal static class Overhead
{
    public static int Run(string dir, Args a)
    {
        var spec = ClassicSpec.From(a);
        int threads = a.Int("threads", 1), n = a.Int("calls", 2000);
        a.RejectUnknown();
        torch.set_num_threads(threads);
        var corpus = BenchData.Load(dir, spec.Tokenizer.MaxVocabularySize);
        var t = spec.Training;
        using var model = new RnnLanguageModel(corpus.Vocabulary.Count, spec.Model);
        using var train = Batching.Batchify(corpus.Train, t.BatchSize);
        var cached = model.UniqueParameters().ToArray();
        using var optimizer = optim.SGD(cached, t.LearningRate);
        var hidden = model.InitialState(t.BatchSize);

        // One real step, timed, which also leaves gradients in place for clipping.
        double Step()
        {
            var clock = Stopwatch.StartNew();
            using var scope = NewDisposeScope();
            var (input, target) = Batching.GetBatch(train, 0, t.Bptt);
            optimizer.zero_grad();
            var (logits, next) = model.call(input, hidden.Detach());
            var loss = nn.functional.cross_entropy(logits.view(-1, model.VocabularySize), target);
            loss.backward();
            nn.utils.clip_grad_norm_(cached, t.Clip);
            optimizer.step();
            return clock.Elapsed.TotalMicroseconds;
        }
        Step();
        var step = Enumerable.Range(0, 5).Min(_ => Step());

        double Time(Action action)
        {
            var best = double.MaxValue;
            for (int round = 0; round < 5; round++)
            {
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < n; i++) action();
                best = Math.Min(best, clock.Elapsed.TotalMicroseconds / n);
            }
            return best;
        }

        using var epochLoss = tensor(0.0, dtype: float64);
        using var windowLoss = tensor(0.0, dtype: float64);
        using var someLoss = tensor(5.0f);
        var pieces = new Dictionary<string, double>
        {
            ["uniqueParametersUs"] = Time(() => model.UniqueParameters()),
            ["clipOverFreshListUs"] = Time(() => nn.utils.clip_grad_norm_(model.UniqueParameters(), 1e9)),
            ["clipOverCachedArrayUs"] = Time(() => nn.utils.clip_grad_norm_(cached, 1e9)),
            ["lossAccumulationUs"] = Time(() =>
            {
                using var scope = NewDisposeScope();
                using (no_grad())
                {
                    var l = someLoss.detach().to_type(float64);
                    epochLoss.add_(l);
                    windowLoss.add_(l);
                }
            }),
            ["hiddenHandoverUs"] = Time(() =>
            {
                RnnState moved;
                using (var scope = NewDisposeScope()) moved = hidden.Detach().MoveToOuterDisposeScope();
                moved.Dispose();
            }),
            ["progressItemUs"] = Time(() => windowLoss.item<double>()),
        };
        hidden.Dispose();
        // The fresh list costs what building it costs; clipping itself is the same native work in both loops.
        var extra = pieces["uniqueParametersUs"] + pieces["lossAccumulationUs"] + pieces["hiddenHandoverUs"]
                    + pieces["progressItemUs"] / 20;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            threads,
            fullStepMicroseconds = Math.Round(step),
            pieces = pieces.ToDictionary(p => p.Key, p => Math.Round(p.Value, 2)),
            trainerExtraMicrosecondsPerStep = Math.Round(extra, 1),
            trainerExtraShareOfStep = Math.Round(extra / step, 6),
        }));
        return 0;
    }
}
