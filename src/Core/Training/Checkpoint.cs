using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RnnLmService.Core.Training;

/// <summary>The plain values of a resumable run: position, schedule and early-stopping state.</summary>
public sealed record CheckpointState
{
    /// <summary>Bumped when the checkpoint layout changes.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Layout version of this checkpoint.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;
    /// <summary>The spec of the run, to refuse resuming a different run.</summary>
    public required TrainingSpec Spec { get; init; }
    /// <summary>0-based epoch in progress.</summary>
    public int Epoch { get; init; }
    /// <summary>Next batch index within that epoch (0 at an epoch start).</summary>
    public int Batch { get; init; }
    /// <summary>Row of the training streams the next batch starts at (0 in checkpoints written before variable BPTT: then Batch × bptt).</summary>
    public int Position { get; init; }
    /// <summary>The global step at which NT-ASGD began averaging (its averages are in <c>average.bin</c>); null before.</summary>
    public long? AveragingStartStep { get; init; }
    /// <summary>Steps done in all.</summary>
    public long GlobalStep { get; init; }
    /// <summary>Current learning rate.</summary>
    public double LearningRate { get; init; }
    /// <summary>Best validation loss so far, null before the first validation.</summary>
    public double? BestValidLoss { get; init; }
    /// <summary>A warm start's validation loss before its first step (the parent's on this data); null for a cold start.</summary>
    public double? InitialValidLoss { get; init; }
    /// <summary>Epochs since the validation loss last improved.</summary>
    public int EpochsWithoutImprovement { get; init; }
    /// <summary>Validation perplexity after each finished epoch.</summary>
    public List<double> ValidHistory { get; init; } = [];
    /// <summary>Sum of per-batch mean losses in the current epoch, and its batch count.</summary>
    public double EpochLossSum { get; init; }
    /// <summary>Sum of per-batch mean losses since the last step report.</summary>
    public double WindowLossSum { get; init; }
    /// <summary>Batches since the last step report.</summary>
    public int WindowBatches { get; init; }
    /// <summary>Training tokens processed in all (for tokens/s).</summary>
    public long TokensDone { get; init; }
    /// <summary>Seconds of training done in all (for tokens/s).</summary>
    public double SecondsDone { get; init; }
}

/// <summary>
/// Reads and writes the latest resumable state of a run in one directory:
/// <c>state.json</c>, <c>weights.bin</c>, <c>best.bin</c>, <c>optimizer.bin</c>, <c>hidden.bin</c>, <c>rng.bin</c>, <c>vocab.json</c>,
/// with NT-ASGD averaging, <c>average.bin</c>, and with BPE, the merges the run reads its text with (<c>merges.json</c>).
/// A new checkpoint is written under a temporary name and swapped in, so a crash leaves the previous one intact.
/// </summary>
public static class Checkpoint
{
    private const string Latest = "latest";
    private const string MergesFile = "merges.json";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Everything a checkpoint holds besides the plain state.</summary>
    public sealed record Parts(RnnLanguageModel Model, byte[]? BestWeights, OptimizerHelper Optimizer, RnnState? Hidden, Vocabulary Vocabulary, WeightAverager? Averages = null, BpeMerges? Merges = null);

    /// <summary>True when <paramref name="directory"/> holds a checkpoint.</summary>
    public static bool Exists(string directory) => FindLatest(directory) is not null;

    /// <summary>Writes a checkpoint atomically (temp directory, then rename).</summary>
    public static void Save(string directory, CheckpointState state, Parts parts)
    {
        Directory.CreateDirectory(directory);
        var tmp = Path.Combine(directory, $".tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            File.WriteAllText(Path.Combine(tmp, "state.json"), JsonSerializer.Serialize(state, Json));
            parts.Model.save(Path.Combine(tmp, "weights.bin"));
            if (parts.BestWeights is not null) File.WriteAllBytes(Path.Combine(tmp, "best.bin"), parts.BestWeights);
            parts.Optimizer.save_state_dict(Path.Combine(tmp, "optimizer.bin"));
            parts.Vocabulary.Save(Path.Combine(tmp, "vocab.json"));
            parts.Averages?.Save(Path.Combine(tmp, "average.bin"));
            parts.Merges?.Save(Path.Combine(tmp, MergesFile));
            using (var w = new BinaryWriter(File.Create(Path.Combine(tmp, "hidden.bin"))))
            {
                if (parts.Hidden is null) w.Write(0);
                else
                {
                    var (shape, h, c) = parts.Hidden.ToArrays();
                    w.Write(shape.Length);
                    foreach (var d in shape) w.Write(d);
                    WriteFloats(w, h);
                    w.Write(c is not null);
                    if (c is not null) WriteFloats(w, c);
                }
            }
            using (var rng = torch.get_rng_state())
                File.WriteAllBytes(Path.Combine(tmp, "rng.bin"), rng.data<byte>().ToArray());

            Storage.Durable.FlushTree(tmp); // the data is on disk before a rename publishes it
            var latest = Path.Combine(directory, Latest);
            string? old = null;
            if (Directory.Exists(latest))
            {
                old = Path.Combine(directory, $".old-{Guid.NewGuid():N}");
                Directory.Move(latest, old);
            }
            Directory.Move(tmp, latest);
            Storage.Durable.FlushDirectory(directory);
            if (old is not null) Directory.Delete(old, recursive: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>Reads the plain state of the latest checkpoint, or null when there is none.</summary>
    public static CheckpointState? ReadState(string directory)
    {
        var dir = FindLatest(directory);
        if (dir is null) return null;
        var path = Path.Combine(dir, "state.json");
        try
        {
            var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path), Json)
                        ?? throw new ModelFormatException(path, "the checkpoint state is empty");
            if (state.FormatVersion != CheckpointState.CurrentFormatVersion)
                throw new ModelFormatException(path, $"checkpoint format {state.FormatVersion} is not the supported {CheckpointState.CurrentFormatVersion}");
            return state;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"the checkpoint state is not valid JSON: {e.Message}");
        }
    }

    /// <summary>The vocabulary saved with the latest checkpoint.</summary>
    public static Vocabulary ReadVocabulary(string directory) =>
        Vocabulary.Load(Path.Combine(FindLatest(directory) ?? directory, "vocab.json"));

    /// <summary>The BPE merges of the latest checkpoint, or null when it has none (not BPE, or written before merges were kept).</summary>
    public static BpeMerges? ReadMerges(string directory)
    {
        var path = Path.Combine(FindLatest(directory) ?? directory, MergesFile);
        return File.Exists(path) ? BpeMerges.Load(path) : null;
    }

    /// <summary>Loads weights, optimizer, NT-ASGD averages and RNG state into live objects; returns best weights and hidden state.</summary>
    public static (byte[]? BestWeights, RnnState? Hidden) Restore(string directory, RnnLanguageModel model, OptimizerHelper optimizer, WeightAverager? averages = null)
    {
        var dir = FindLatest(directory) ?? throw new ModelFormatException(directory, "no checkpoint to resume from");
        model.load(Path.Combine(dir, "weights.bin"));
        optimizer.load_state_dict(Path.Combine(dir, "optimizer.bin"));
        if (averages is not null)
        {
            var path = Path.Combine(dir, "average.bin");
            if (!File.Exists(path)) throw new ModelFormatException(path, "the checkpoint says NT-ASGD was averaging but holds no averages");
            averages.Load(path);
        }
        var bestPath = Path.Combine(dir, "best.bin");
        var best = File.Exists(bestPath) ? File.ReadAllBytes(bestPath) : null;

        RnnState? hidden = null;
        using (var r = new BinaryReader(File.OpenRead(Path.Combine(dir, "hidden.bin"))))
        {
            var rank = r.ReadInt32();
            if (rank > 0)
            {
                var shape = new long[rank];
                for (var i = 0; i < rank; i++) shape[i] = r.ReadInt64();
                var h = ReadFloats(r);
                var c = r.ReadBoolean() ? ReadFloats(r) : null;
                hidden = RnnState.FromArrays(shape, h, c);
            }
        }
        var rng = File.ReadAllBytes(Path.Combine(dir, "rng.bin"));
        using (var state = torch.tensor(rng, dtype: ScalarType.Byte))
            torch.set_rng_state(state);
        return (best, hidden);
    }

    /// <summary>The directory of the newest complete checkpoint under <paramref name="directory"/>, or null.</summary>
    public static string? LatestDirectory(string directory) => FindLatest(directory);

    private static string? FindLatest(string directory)
    {
        if (!Directory.Exists(directory)) return null;
        var latest = Path.Combine(directory, Latest);
        if (File.Exists(Path.Combine(latest, "state.json"))) return latest;
        // A crash between the two renames leaves the previous checkpoint as .old-*.
        return Directory.GetDirectories(directory, ".old-*")
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "state.json")));
    }

    private static void WriteFloats(BinaryWriter w, float[] values)
    {
        w.Write(values.Length);
        foreach (var v in values) w.Write(v);
    }

    private static float[] ReadFloats(BinaryReader r)
    {
        var values = new float[r.ReadInt32()];
        for (var i = 0; i < values.Length; i++) values[i] = r.ReadSingle();
        return values;
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
