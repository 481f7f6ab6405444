using System.Diagnostics;
using System.Text.Json;
using RnnLmService.Core.Text;
using RnnLmService.Core.Text.Prepared;
using RnnLmService.Core.Training;

namespace RnnLmService.Bench;

/// <summary>Our <see cref="Trainer"/>, as the worker runs it: throughput over a fixed step window, and test perplexity after N epochs.</summary>
internal static class TrainerBench
{
    /// <summary>
    /// Tokens/s over <c>steps</c> steps after <c>warmup</c> steps. The window is timed from the trainer's own
    /// progress callback (every <c>report</c> steps, the service default 20), and the run is then cancelled.
    /// <c>tokenizer=default</c>: the service's default tokenizer (lower-cased words, punctuation split) instead of
    /// whitespace. <c>tokens=DIR</c>: train from memory-mapped token files prepared in DIR (a dataset directory, e.g. the
    /// service's <c>datasets/{id}</c>; prepared there first, outside the timed window, unless a job already did)
    /// instead of the corpus read into memory.
    /// </summary>
    public static int Throughput(string dir, Args a)
    {
        var spec = ClassicSpec.From(a);
        if (a.Get("tokenizer", "whitespace") == "default") spec = spec with { Tokenizer = new TokenizerOptions { MaxVocabularySize = spec.Tokenizer.MaxVocabularySize } };
        var tokens = a.Get("tokens", "");
        int threads = a.Int("threads", 1), warmup = a.Int("warmup", 40), steps = a.Int("steps", 200);
        // The window edges must fall on progress reports: every 20 steps (the service default) when they allow it.
        var report = a.Int("report", Gcd(20, Gcd(warmup, steps)));
        var mallopt = a.Bool("mallopt", false);
        var onThread = a.Bool("thread", false);
        a.RejectUnknown();
        if (mallopt && !Malloc.KeepFreedMemory()) throw new InvalidOperationException("glibc refused mallopt");
        if (warmup < 1 || warmup % report != 0 || steps % report != 0) throw new ArgumentException("warmup (at least 1) and steps must be multiples of report");
        if (!onThread)
        {
            Run();
            return 0;
        }
        // As the worker runs it: on a thread of its own, which glibc serves from a malloc arena of its own.
        var thread = new Thread(Run);
        thread.Start();
        thread.Join();
        return 0;

        void Run()
        {
            using var prepared = tokens.Length == 0 ? null : TokenFiles.Open(new TokenFilePreparer().Prepare(tokens, spec.Tokenizer), spec.Tokenizer);
            var corpus = prepared is null ? BenchData.Read(dir) : null;
            var clock = new CpuClock();
            using var cts = new CancellationTokenSource();
            var context = new TrainingRunContext
            {
                TorchThreads = threads,
                ReportEverySteps = report,
                Cancellation = cts.Token,
                Progress = p =>
                {
                    if (p.GlobalStep == warmup) clock.Restart();
                    if (p.GlobalStep == warmup + steps) { clock.Stop(); cts.Cancel(); }
                },
            };
            try
            {
                (prepared is null ? new Trainer(spec).Run(corpus!, context) : new Trainer(spec).Run(prepared, context)).Dispose();
                throw new InvalidOperationException("the epoch ended before the timed window did; use fewer steps");
            }
            catch (OperationCanceledException) { }
            var trained = (long)steps * spec.Training.Bptt * spec.Training.BatchSize;
            Emit((mallopt ? "trainer+mallopt" : "trainer") + (onThread ? "+thread" : "") + (prepared is null ? "" : "+tokens"), threads, warmup, steps, trained, clock);
        }
    }

    /// <summary>Targets the evaluator scores: the split cut into up to B streams (remainder dropped), each stream's first token not scored.</summary>
    private static long EvaluatedTargets(long tokens, int batch)
    {
        var streams = Math.Max(1, Math.Min(batch, (tokens - 1) / 2));
        return (tokens / streams - 1) * streams;
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary>Trains for <c>epochs</c> epochs with the classic recipe (annealing /4, best model kept) and reports test perplexity.</summary>
    public static int Quality(string dir, Args a)
    {
        var spec = ClassicSpec.From(a);
        var threads = a.Int("threads", 1);
        a.RejectUnknown();
        var clock = Stopwatch.StartNew();
        using var result = Train(spec, dir, threads, "trainer");
        var m = result.Metrics;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            contender = "trainer",
            model = "lstm",
            epochs = m.Epochs,
            threads,
            vocab = m.VocabularySize,
            vocabHash = BenchData.Hash(result.Vocabulary),
            trainTokens = m.TrainTokens,
            testTokens = m.TestTokens,
            testTargets = EvaluatedTargets(m.TestTokens, spec.Training.EvalBatchSize),
            validPpl = m.ValidPerplexityHistory,
            bestValidPpl = m.BestValidPerplexity,
            testPpl = m.TestPerplexity,
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        }));
        return 0;
    }

    /// <summary>Trains <paramref name="spec"/> on the splits in <paramref name="dir"/>, progress to stderr every 200 steps and each epoch.</summary>
    public static TrainingResult Train(TrainingSpec spec, string dir, int threads, string label) =>
        new Trainer(spec).Run(BenchData.Read(dir), new TrainingRunContext
        {
            TorchThreads = threads,
            ReportEverySteps = 200,
            Progress = p => Console.Error.WriteLine(p.Kind == ProgressKind.Epoch
                ? $"[{label}] epoch {p.Epoch} valid ppl {p.ValidPerplexity:F2} lr {p.LearningRate:G4}"
                : $"[{label}] epoch {p.Epoch} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F3} lr {p.LearningRate:G4} tok/s {p.TokensPerSecond:F0}"),
        });

    /// <summary>One throughput line. cpuSeconds (the process's user+system time in the window) moves far less than wall time when other work shares the cores.</summary>
    public static void Emit(string contender, int threads, int warmup, int steps, long tokens, CpuClock clock) =>
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            contender,
            threads,
            warmupSteps = warmup,
            steps,
            tokens,
            seconds = Math.Round(clock.Wall.TotalSeconds, 3),
            cpuSeconds = Math.Round(clock.Cpu.TotalSeconds, 3),
            tokensPerSecond = Math.Round(tokens / clock.Wall.TotalSeconds, 1),
            tokensPerCpuSecond = Math.Round(tokens / clock.Cpu.TotalSeconds, 1),
            torchSharp = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
        }));
}

/// <summary>Wall time and this process's CPU time between <see cref="Restart"/> and <see cref="Stop"/>.</summary>
internal sealed class CpuClock
{
    private readonly Stopwatch _wall = new();
    private TimeSpan _cpuStart, _cpu;

    public TimeSpan Wall => _wall.Elapsed;
    public TimeSpan Cpu => _cpu;

    public void Restart()
    {
        _cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        _wall.Restart();
    }

    public void Stop()
    {
        _wall.Stop();
        _cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpuStart;
    }
}
