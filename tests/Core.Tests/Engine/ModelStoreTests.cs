using System.Text.Json.Nodes;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Engine;

public sealed class ModelStoreTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    private string CopyOfModel(TempDir dir)
    {
        var target = dir.Sub("copy");
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(fixture.ModelDirectory)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        return target;
    }

    [Fact]
    public void A_model_directory_describes_itself()
    {
        var manifest = ModelArtifacts.ReadManifest(fixture.ModelDirectory);
        Assert.Equal(1, manifest.FormatVersion); // a model without locked dropout keeps the format older builds read
        Assert.Equal(CellType.Lstm, manifest.Architecture.CellType);
        Assert.Equal(32, manifest.Architecture.HiddenSize);
        Assert.Equal(TokenizerKind.Word, manifest.Tokenizer.Kind);
        Assert.Equal("test", manifest.DatasetHash);
        Assert.Equal(fixture.Metrics.TestPerplexity, manifest.Metrics.TestPerplexity);
        Assert.Equal(fixture.Model.Vocabulary.Count, manifest.VocabularySize);
        Assert.Equal(64, manifest.WeightsSha256!.Length);
        // Every other file is listed with its hash (what an exported archive is checked against on import).
        Assert.Equal(["vocab.counts.json", "vocab.json", "weights.bin"], manifest.Files!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(manifest.WeightsSha256, manifest.Files["weights.bin"]);
        // No temporary directory is left beside the version.
        Assert.Equal(["1"], Directory.GetDirectories(Path.GetDirectoryName(fixture.ModelDirectory)!).Select(Path.GetFileName));
    }

    [Fact]
    public void A_truncated_weights_file_is_a_clear_format_error()
    {
        using var dir = new TempDir();
        var copy = CopyOfModel(dir);
        var weights = Path.Combine(copy, "weights.bin");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<ModelFormatException>(() => LanguageModel.Load(copy));
        Assert.Contains("truncated", e.Message);
        Assert.EndsWith("weights.bin", e.Path);
    }

    [Fact]
    public void Weights_of_another_shape_are_a_clear_format_error()
    {
        using var dir = new TempDir();
        var copy = CopyOfModel(dir);
        // Say the model is bigger than its weights, and drop the hash so the shape check is what catches it.
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "model.json")))!;
        json["architecture"]!["hiddenSize"] = 48;
        json["weightsSha256"] = null;
        File.WriteAllText(Path.Combine(copy, "model.json"), json.ToJsonString());
        var e = Assert.Throws<ModelFormatException>(() => LanguageModel.Load(copy));
        Assert.Contains("do not fit the architecture", e.Message);
    }

    [Fact]
    public void Missing_foreign_and_future_manifests_are_clear_format_errors()
    {
        using var dir = new TempDir();
        var copy = CopyOfModel(dir);
        var manifest = Path.Combine(copy, "model.json");
        var original = File.ReadAllText(manifest);

        File.WriteAllText(manifest, "<html>not a model</html>");
        Assert.Contains("not a valid model manifest", Assert.Throws<ModelFormatException>(() => LanguageModel.Load(copy)).Message);

        var json = JsonNode.Parse(original)!;
        json["formatVersion"] = 99;
        File.WriteAllText(manifest, json.ToJsonString());
        Assert.Contains("format version 99 is not supported", Assert.Throws<ModelFormatException>(() => LanguageModel.Load(copy)).Message);

        File.Delete(manifest);
        Assert.Contains("no model.json", Assert.Throws<ModelFormatException>(() => LanguageModel.Load(copy)).Message);

        File.WriteAllText(manifest, original);
        File.WriteAllText(Path.Combine(copy, "vocab.json"), "[\"<unk>\", \"<eos>\"");
        Assert.Throws<ModelFormatException>(() => LanguageModel.Load(copy));
    }

    [Fact]
    public void Saving_over_an_existing_version_is_refused_and_leaves_it_intact()
    {
        var before = File.ReadAllBytes(Path.Combine(fixture.ModelDirectory, "weights.bin"));
        var manifest = ModelArtifacts.ReadManifest(fixture.ModelDirectory);
        using var model = new RnnLanguageModel(manifest.VocabularySize, manifest.Architecture);
        Assert.Throws<IOException>(() => ModelArtifacts.Save(fixture.ModelDirectory, manifest, model, fixture.Model.Vocabulary));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(fixture.ModelDirectory, "weights.bin")));
    }

    [Fact]
    public void A_model_directory_written_before_the_new_options_still_loads_and_answers_the_same()
    {
        using var dir = new TempDir();
        var copy = CopyOfModel(dir);
        // model.json as the build before issue 13 wrote it: format 1 and none of the new fields.
        var path = Path.Combine(copy, "model.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["formatVersion"] = 1;
        foreach (var key in new[] { "weightDrop", "embeddingDropout", "lockedDropout", "inputDropout", "hiddenDropout", "outputDropout" })
            Assert.True(json["architecture"]!.AsObject().Remove(key), key);
        foreach (var key in new[] { "schedule", "warmupSteps", "minLearningRateFraction", "gradientAccumulation", "variableBptt", "maxSteps",
                     "maxMinutes", "activationRegularization", "temporalActivationRegularization", "nonmonoInterval" })
            Assert.True(json["training"]!.AsObject().Remove(key), key);
        json["metrics"]!.AsObject().Remove("stopReason");
        json["metrics"]!.AsObject().Remove("averagingStartStep");
        File.WriteAllText(path, json.ToJsonString());

        using var old = LanguageModel.Load(copy);
        Assert.False(old.Manifest.Architecture.LockedDropout);
        var query = new NextWordQuery(string.Join(" ", fixture.Splits.Train.Split(' ', '\n').Take(6)), TopK: 5);
        var expected = fixture.Model.NextWord(query);
        var actual = old.NextWord(query);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected), System.Text.Json.JsonSerializer.Serialize(actual));
    }

    [Fact]
    public void A_model_with_locked_dropout_is_written_as_format_2_and_loads_back()
    {
        var spec = TinyCorpora.SmallSpec(epochs: 1);
        spec = spec with { Model = spec.Model with { Layers = 2, LockedDropout = true, HiddenDropout = 0.3 } };
        using var result = TinyCorpora.Train(spec, fixture.Splits);
        using var dir = new TempDir();
        var manifest = ModelArtifacts.Save(dir.Sub("m/1"), "m", 1, result);
        Assert.Equal(2, manifest.FormatVersion);
        Assert.Contains(result.Model.state_dict().Keys, k => k.StartsWith("rnns.1.", StringComparison.Ordinal));
        using (var loaded = LanguageModel.Load(dir.Sub("m/1"))) Assert.True(loaded.Manifest.Architecture.LockedDropout);

        // Per-layer weights under a format-1 manifest are refused with a reason, not loaded half-way.
        var path = Path.Combine(dir.Sub("m/1"), "model.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json["formatVersion"] = 1;
        File.WriteAllText(path, json.ToJsonString());
        Assert.Contains("does not match its architecture", Assert.Throws<ModelFormatException>(() => LanguageModel.Load(dir.Sub("m/1"))).Message);
    }
}
