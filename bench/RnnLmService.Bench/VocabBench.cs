using System.Diagnostics;
using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Bench;

/// <summary>
/// Vocabulary efficiency (issue 13, items 3 and 4): the classic recipe with one output layer or tokenizer changed.
/// <c>vocab &lt;dir&gt; contender=full|adaptive|word|bpe [vocab= cutoffs=2000,10000 epochs=1 trainLines=0 steps=0 warmup=20 threads=1 tied=false ...]</c>.
/// With <c>steps</c> it only times that many training steps after <c>warmup</c> (tokens/s) and cancels; otherwise it
/// trains <c>epochs</c> and reports the model's metrics (test perplexity, bits per character, per-word perplexity).
/// </summary>
internal static class VocabBench
{
    public static int Run(string dir, Args a)
    {
        var contender = a.Get("contender", "full");
        var baseSpec = ClassicSpec.From(a);
        var vocab = a.Int("vocab", contender is "full" or "adaptive" ? TokenizerOptions.MaxLimit : 10000);
        var cutoffs = a.Get("cutoffs", "2000,10000").Split(',').Select(int.Parse).ToArray();
        int threads = a.Int("threads", 1), trainLines = a.Int("trainLines", 0), steps = a.Int("steps", 0), warmup = a.Int("warmup", 20);
        a.RejectUnknown();
        var spec = contender switch
        {
            "full" => baseSpec with { Tokenizer = BenchData.Whitespace(vocab) },
            "adaptive" => baseSpec with { Tokenizer = BenchData.Whitespace(vocab), Model = baseSpec.Model with { AdaptiveSoftmaxCutoffs = cutoffs } },
            "word" => baseSpec with { Tokenizer = BenchData.Whitespace(vocab) },
            "bpe" => baseSpec with { Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = vocab } },
            _ => throw new ArgumentException($"unknown contender '{contender}' (full, adaptive, word or bpe)"),
        };
        var splits = BenchData.Read(dir);
        if (trainLines > 0) splits = splits with { Train = string.Join('\n', splits.Train.Split('\n').Take(trainLines)) + "\n" };

        double? learnSeconds = null;
        if (spec.Tokenizer.Kind == TokenizerKind.Bpe)
        {
            // Learning alone, timed once (the trainer learns the same merges again inside Corpus.Build).
            var learn = Stopwatch.StartNew();
            BpeTokenizer.Learn(spec.Tokenizer, splits.Train);
            learnSeconds = Math.Round(learn.Elapsed.TotalSeconds, 2);
        }
        var clock = Stopwatch.StartNew();
        var windows = new List<double>();
        var timed = new CpuClock();
        using var cts = new CancellationTokenSource();
        TrainingResult? result = null;
        try
        {
            result = new Trainer(spec).Run(splits, new TrainingRunContext
            {
                TorchThreads = threads,
                ReportEverySteps = 20,
                Cancellation = cts.Token,
                Progress = p =>
                {
                    if (p.Kind == ProgressKind.Step && p.Step % 20 == 0) windows.Add(p.TokensPerSecond);
                    if (p.Kind == ProgressKind.Epoch) Console.Error.WriteLine($"[{contender}] epoch {p.Epoch} valid ppl {p.ValidPerplexity:F2}");
                    else if (p.GlobalStep % 200 == 0) Console.Error.WriteLine($"[{contender}] step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F3} tok/s {p.TokensPerSecond:F0}");
                    if (steps <= 0) return;
                    if (p.GlobalStep == warmup) timed.Restart();
                    if (p.GlobalStep == warmup + steps) { timed.Stop(); cts.Cancel(); }
                },
            });
        }
        catch (OperationCanceledException) when (steps > 0) { }
        using (result)
        {
            var common = new Dictionary<string, object?>
            {
                ["contender"] = contender,
                ["tokenizer"] = spec.Tokenizer.Kind.ToString().ToLowerInvariant(),
                ["vocabCap"] = vocab,
                ["cutoffs"] = contender == "adaptive" ? cutoffs : null,
                ["tied"] = spec.Model.TieWeights,
                ["hidden"] = spec.Model.HiddenSize,
                ["threads"] = threads,
                ["trainLines"] = trainLines,
                ["bpeLearnSeconds"] = learnSeconds,
            };
            if (steps > 0)
            {
                var tokens = (long)steps * spec.Training.Bptt * spec.Training.BatchSize;
                common["mode"] = "speed";
                common["steps"] = steps;
                common["warmupSteps"] = warmup;
                common["tokensPerSecond"] = Math.Round(tokens / timed.Wall.TotalSeconds, 1);
                common["tokensPerCpuSecond"] = Math.Round(tokens / timed.Cpu.TotalSeconds, 1);
            }
            else
            {
                var m = result!.Metrics;
                common["mode"] = "quality";
                common["epochs"] = m.Epochs;
                common["vocab"] = m.VocabularySize;
                common["trainTokens"] = m.TrainTokens;
                common["testTokens"] = m.TestTokens;
                common["testPpl"] = Math.Round(m.TestPerplexity, 3);
                common["bestValidPpl"] = Math.Round(m.BestValidPerplexity, 3);
                common["testBpc"] = Math.Round(m.TestBitsPerCharacter, 4);
                common["testWordPpl"] = Math.Round(m.TestWordPerplexity, 3);
                common["testCharacters"] = m.TestCharacters;
                common["testWords"] = m.TestWords;
                common["parameters"] = m.Parameters;
                common["parameterBytes"] = m.ParameterBytes;
                common["modelBytes"] = m.ModelBytes;
                common["trainingSeconds"] = Math.Round(m.TrainingSeconds, 1);
                common["tokensPerSecond"] = Math.Round(m.TokensPerSecond, 1);
                common["stepTokensPerSecondMedian"] = windows.Count > 0 ? Math.Round(Median(windows), 1) : null;
            }
            common["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
            Console.WriteLine(JsonSerializer.Serialize(common));
        }
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
