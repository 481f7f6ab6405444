using System.Text.Json.Nodes;
using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Engine;

public sealed class OldModelDirectoryTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    [Fact]
    public void A_model_written_before_bpe_and_adaptive_softmax_still_loads_and_answers_the_same()
    {
        using var dir = new TempDir();
        var copy = dir.Sub("old");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(fixture.ModelDirectory)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        // model.json as the build before issue 13 wrote it: none of the properties that issue added.
        var path = Path.Combine(copy, ModelArtifacts.ManifestFile);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["architecture"]!.AsObject().Remove("adaptiveSoftmaxDivValue");
        foreach (var added in new[] { "testBitsPerCharacter", "testWordPerplexity", "testCharacters", "testWords", "parameters", "parameterBytes", "modelBytes", "trainingSeconds" })
            Assert.True(json["metrics"]!.AsObject().Remove(added), added);
        Assert.False(json.ContainsKey("mergesFile"));
        Assert.True(json["architecture"]!.AsObject().Remove("adaptiveSoftmaxCutoffs"));        // written as null: off
        Assert.True(json["tokenizer"]!.AsObject().Remove("vocabularySize"));
        File.WriteAllText(path, json.ToJsonString());

        using var old = LanguageModel.Load(copy);
        Assert.IsType<WordTokenizer>(old.Tokenizer);
        Assert.Null(old.Manifest.Architecture.AdaptiveSoftmaxCutoffs);
        var query = new NextWordQuery("w03 w04", TopK: 5);
        Assert.Equal(fixture.Model.NextWord(query).Top, old.NextWord(query).Top);
    }
}
