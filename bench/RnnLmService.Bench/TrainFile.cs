using System.Diagnostics;
using System.Text.Json;
using RnnLmService.Core;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Bench;

// `train`: trains the engine directly (no service) on a text file and reports what it measured:
//   dotnet run -c Release --project bench/RnnLmService.Bench -- train <corpus.txt> [key=value ...]
// Keys: epochs, batchSize, bptt, embeddingSize, hiddenSize, layers, dropout, tie, vocab, lr, optimizer, threads, out.
internal static class TrainFile
{
    public static int Run(string[] args)
    {
        var kv = args.Skip(1).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        string Get(string k, string d) => kv.TryGetValue(k, out var v) ? v : d;

        var spec = new TrainingSpec
        {
            Tokenizer = new TokenizerOptions { Kind = Enum.Parse<TokenizerKind>(Get("tokenizer", "Word"), true), MaxVocabularySize = int.Parse(Get("vocab", "10000")) },
            Model = new ModelOptions
            {
                CellType = Enum.Parse<CellType>(Get("cell", "Lstm"), true),
                EmbeddingSize = int.Parse(Get("embeddingSize", "200")), HiddenSize = int.Parse(Get("hiddenSize", "200")),
                Layers = int.Parse(Get("layers", "2")), Dropout = double.Parse(Get("dropout", "0.2")), TieWeights = bool.Parse(Get("tie", "true")),
            },
            Training = new TrainingOptions
            {
                Optimizer = Enum.Parse<OptimizerKind>(Get("optimizer", "Sgd"), true), LearningRate = double.Parse(Get("lr", "20")),
                Epochs = int.Parse(Get("epochs", "1")), BatchSize = int.Parse(Get("batchSize", "20")), Bptt = int.Parse(Get("bptt", "35")),
                Seed = long.Parse(Get("seed", "1111")),
            },
        };
        var splits = CorpusReader.SplitDeterministically(CorpusReader.ReadUtf8(args[0], "corpus"));
        var threads = int.Parse(Get("threads", "2"));
        var clock = Stopwatch.StartNew();
        using var result = new Trainer(spec).Run(splits, new TrainingRunContext
        {
            TorchThreads = threads,
            ReportEverySteps = 200,
            Progress = p => Console.Error.WriteLine($"epoch {p.Epoch} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F3} lr {p.LearningRate} tok/s {p.TokensPerSecond:F0}" +
                                                    (p.ValidPerplexity is { } v ? $" valid ppl {v:F2}" : "")),
        });
        var seconds = clock.Elapsed.TotalSeconds;

        // A unigram baseline on the same tokens (add-one smoothing over the vocabulary).
        var corpus = Corpus.Encode(splits, result.Tokenizer, result.Vocabulary);
        var counts = new double[result.Vocabulary.Count];
        foreach (var id in corpus.Train) counts[id]++;
        var total = counts.Sum() + counts.Length;
        var unigramNll = corpus.Test.Average(id => -Math.Log((counts[id] + 1) / total));

        var outDir = Get("out", "");
        if (outDir.Length > 0) ModelArtifacts.Save(outDir, "bench", 1, result);
        using var lm = new LanguageModel(new ModelManifest { Name = "bench", Architecture = spec.Model, Tokenizer = result.Tokenizer.Options, Training = spec.Training, Metrics = result.Metrics },
            result.Model, result.Vocabulary, result.Tokenizer);
        var samples = new[] { "and god said", "in the beginning", "the lord is my" }
            .Select(p => p + lm.Generate(p, new GenerationOptions { MaxTokens = 30, Temperature = 0.8, TopK = 40, Seed = 1 }).Text).ToList();

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            corpus = Path.GetFileName(args[0]),
            spec,
            result.Metrics,
            unigramTestPerplexity = Math.Exp(unigramNll),
            trainSeconds = seconds,
            threads,
            samples,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }
}
