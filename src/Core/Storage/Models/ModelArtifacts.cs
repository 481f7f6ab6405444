using System.Security.Cryptography;
using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Storage.Models;

/// <summary>
/// Writes and reads a model version directory: <c>model.json</c>, the vocabulary and the weights.
/// Written under a temporary name and renamed into place, so readers never see half a model.
/// </summary>
public static class ModelArtifacts
{
    /// <summary>The manifest file name.</summary>
    public const string ManifestFile = "model.json";

    /// <summary>The BPE merges file name.</summary>
    public const string MergesFileName = "merges.json";

    /// <summary>Writes the result of a training run as a model version at <paramref name="directory"/> (which must not exist).</summary>
    public static ModelManifest Save(string directory, string name, int version, TrainingResult result, string? datasetHash = null)
    {
        var manifest = new ModelManifest
        {
            Name = name,
            Version = version,
            Architecture = result.Model.Options,
            VocabularySize = result.Vocabulary.Count,
            Tokenizer = result.Tokenizer.Options,
            Training = result.Spec.Training,
            DatasetHash = datasetHash,
            Metrics = result.Metrics,
            Parent = result.Spec.Init,
        };
        return Save(directory, manifest, result.Model, result.Vocabulary, (result.Tokenizer as BpeTokenizer)?.Merges);
    }

    /// <summary>Writes a model, its vocabulary (and a BPE tokenizer's <paramref name="merges"/>) and manifest atomically at <paramref name="directory"/>.</summary>
    public static ModelManifest Save(string directory, ModelManifest manifest, RnnLanguageModel model, Vocabulary vocabulary, BpeMerges? merges = null)
    {
        var full = Path.GetFullPath(directory);
        if (Directory.Exists(full)) throw new IOException($"model directory '{full}' already exists");
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".tmp-{Path.GetFileName(full)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            var weights = Path.Combine(tmp, manifest.WeightsFile);
            model.save(weights);
            vocabulary.Save(Path.Combine(tmp, manifest.VocabularyFile));
            manifest = manifest with { MergesFile = merges is null ? null : MergesFileName };
            merges?.Save(Path.Combine(tmp, MergesFileName));
            manifest = manifest with
            {
                FormatVersion = ModelManifest.FormatVersionFor(manifest.Architecture, manifest.Tokenizer), VocabularySize = vocabulary.Count, WeightsSha256 = Sha256(weights),
                Files = HashFiles(tmp),
            };
            var json = Path.Combine(tmp, ManifestFile);
            File.WriteAllText(json, JsonSerializer.Serialize(manifest, ModelManifest.JsonOptions));
            Directory.Move(tmp, full);
            return manifest;
        }
        catch
        {
            try { Directory.Delete(tmp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Reads and checks <c>model.json</c>; throws <see cref="ModelFormatException"/> saying what is wrong.</summary>
    public static ModelManifest ReadManifest(string directory)
    {
        var path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path)) throw new ModelFormatException(path, "the model directory has no model.json");
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), ModelManifest.JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"model.json is not a valid model manifest: {e.Message}");
        }
        if (manifest is null) throw new ModelFormatException(path, "model.json is empty");
        if (manifest.FormatVersion is < 1 or > ModelManifest.CurrentFormatVersion)
            throw new ModelFormatException(path, $"model format version {manifest.FormatVersion} is not supported (this build reads versions 1 to {ModelManifest.CurrentFormatVersion})");
        var expected = ModelManifest.FormatVersionFor(manifest.Architecture, manifest.Tokenizer);
        if (manifest.FormatVersion != expected)
            throw new ModelFormatException(path, $"model format version {manifest.FormatVersion} does not match its architecture (lockedDropout {manifest.Architecture.LockedDropout}, adaptive softmax {manifest.Architecture.IsAdaptive}, tokenizer {manifest.Tokenizer.Kind} is written as version {expected})");
        return manifest;
    }

    /// <summary>Loads a model version: manifest, vocabulary and weights, checking hashes and shapes.</summary>
    public static (ModelManifest Manifest, RnnLanguageModel Model, Vocabulary Vocabulary) Load(string directory)
    {
        var manifest = ReadManifest(directory);
        var vocabulary = Vocabulary.Load(Path.Combine(directory, manifest.VocabularyFile));
        if (vocabulary.Count != manifest.VocabularySize)
            throw new ModelFormatException(Path.Combine(directory, manifest.VocabularyFile),
                $"the vocabulary has {vocabulary.Count} tokens but model.json says {manifest.VocabularySize}");

        var weights = Path.Combine(directory, manifest.WeightsFile);
        if (!File.Exists(weights)) throw new ModelFormatException(weights, "the weights file is missing");
        CheckHashes(directory, manifest);

        RnnLanguageModel? model = null;
        try
        {
            model = new RnnLanguageModel(manifest.VocabularySize, manifest.Architecture);
            model.load(weights, strict: true);
            model.eval();
            return (manifest, model, vocabulary);
        }
        catch (Exception e) when (e is not ModelFormatException and not OutOfMemoryException)
        {
            model?.Dispose();
            throw new ModelFormatException(weights, $"the weights do not fit the architecture in model.json: {e.Message}");
        }
    }

    /// <summary>
    /// The tokenizer a model was trained with: the manifest's options, with the merges file for BPE. Models written
    /// before BPE have no merges file and a word or character tokenizer.
    /// </summary>
    public static ITokenizer ReadTokenizer(string directory, ModelManifest manifest)
    {
        if (manifest.Tokenizer.Kind != TokenizerKind.Bpe) return Tokenizers.Create(manifest.Tokenizer);
        var path = Path.Combine(directory, manifest.MergesFile ?? MergesFileName);
        return Tokenizers.Create(manifest.Tokenizer, BpeMerges.Load(path));
    }

    /// <summary>
    /// The version at <paramref name="directory"/> as the parent of a warm start named <paramref name="parent"/>
    /// (<c>name@version</c>): its manifest, tokenizer (a BPE parent's merges), vocabulary and weights, hash-checked; the weights are loaded by the trainer.
    /// </summary>
    public static WarmStart ReadWarmStart(string directory, string parent)
    {
        var manifest = ReadManifest(directory);
        CheckHashes(directory, manifest);
        var vocabulary = Vocabulary.Load(Path.Combine(directory, manifest.VocabularyFile));
        if (vocabulary.Count != manifest.VocabularySize)
            throw new ModelFormatException(Path.Combine(directory, manifest.VocabularyFile),
                $"the vocabulary has {vocabulary.Count} tokens but model.json says {manifest.VocabularySize}");
        return new WarmStart(parent, manifest.Architecture, ReadTokenizer(directory, manifest), vocabulary, Path.Combine(directory, manifest.WeightsFile));
    }

    /// <summary>
    /// Hashes every file of the directory and checks the weights and every file <c>model.json</c> lists against the hashes it
    /// recorded; throws <see cref="ModelFormatException"/> naming the first that is missing or differs. Returns the hashes.
    /// </summary>
    public static IReadOnlyDictionary<string, string> CheckHashes(string directory, ModelManifest manifest)
    {
        var actual = HashFiles(directory);
        var expected = new Dictionary<string, string>(manifest.Files ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (manifest.WeightsSha256 is { } weights) expected.TryAdd(manifest.WeightsFile, weights);
        foreach (var (relative, hash) in expected)
        {
            var path = Path.Combine(directory, relative);
            if (!actual.TryGetValue(relative, out var found)) throw new ModelFormatException(path, $"'{relative}' is listed in model.json but missing");
            if (!string.Equals(found, hash, StringComparison.OrdinalIgnoreCase))
                throw new ModelFormatException(path, $"'{relative}' does not match its hash in model.json (truncated or replaced)");
        }
        return actual;
    }

    /// <summary>Every file of a model directory but <c>model.json</c>, as relative paths with '/', in ordinal order.</summary>
    public static IReadOnlyList<string> ListFiles(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f != ManifestFile)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>SHA-256 (hex) of every file <see cref="ListFiles"/> finds.</summary>
    public static IReadOnlyDictionary<string, string> HashFiles(string directory) =>
        ListFiles(directory).ToDictionary(f => f, f => Sha256(Path.Combine(directory, f)), StringComparer.Ordinal);

    /// <summary>SHA-256 of a file, lower-case hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
