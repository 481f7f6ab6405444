using RnnLmService.Api.Models;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Tests.TestSupport;

/// <summary>
/// One tiny word-level LSTM trained once per test run, through the engine directly, on a few hundred lines of
/// the starter grammar (a few seconds). Factories copy its directory into their own data directory.
/// </summary>
public static class TinyModel
{
    private static readonly Lazy<string> Trained = new(Train, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The trained model's directory (read-only template).</summary>
    public static string Directory => Trained.Value;

    private static string Train()
    {
        var text = StarterCorpus.Generate(lines: 600, seed: 7).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var splits = new CorpusSplits(
            string.Join('\n', text[..480]) + "\n",
            string.Join('\n', text[480..540]) + "\n",
            string.Join('\n', text[540..]) + "\n");
        var spec = new TrainingSpec
        {
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word },
            Model = new ModelOptions { CellType = CellType.Lstm, EmbeddingSize = 16, HiddenSize = 32, Layers = 1, Dropout = 0 },
            Training = new TrainingOptions { Epochs = 1, BatchSize = 10, Bptt = 10, LearningRate = 20 },
        };
        using var result = new Trainer(spec).Run(splits, new TrainingRunContext { TorchThreads = 1, Resume = false });
        var directory = Path.Combine(Path.GetTempPath(), $"rnnlm-api-tests-model-{Guid.NewGuid():N}");
        ModelArtifacts.Save(directory, "tiny", 1, result, datasetHash: "test");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { System.IO.Directory.Delete(directory, true); } catch (IOException) { } };
        return directory;
    }

    /// <summary>Copies the trained model into <paramref name="target"/>.</summary>
    public static void CopyTo(string target)
    {
        System.IO.Directory.CreateDirectory(target);
        foreach (var file in System.IO.Directory.GetFiles(Directory))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
    }
}
