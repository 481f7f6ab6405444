using System.Text.Json;
using static TorchSharp.torch;

namespace RnnLmService.Core.Storage.Models;

/// <summary>
/// A model version as a PyTorch-style state dict for <see cref="SafetensorsWriter"/>. The names are
/// <see cref="Modeling.RnnLanguageModel"/>'s field names, which are those of pytorch/examples' word_language_model
/// <c>RNNModel</c>: <c>encoder.weight</c> (V, E); <c>rnn.weight_ih_l{k}</c>, <c>rnn.weight_hh_l{k}</c>,
/// <c>rnn.bias_ih_l{k}</c>, <c>rnn.bias_hh_l{k}</c> per layer k (gates stacked as PyTorch does: LSTM i,f,g,o; GRU r,z,n);
/// <c>decoder.weight</c> (V, H) and <c>decoder.bias</c> (V). With tied weights both <c>encoder.weight</c> and
/// <c>decoder.weight</c> are present with equal values (safetensors cannot alias one buffer), and <c>__metadata__</c>
/// says <c>"tied_weights": "decoder.weight=encoder.weight"</c>, so <c>load_state_dict(strict=True)</c> on a tied
/// <c>RNNModel</c> works. <c>__metadata__</c> also carries <c>format</c> ("pt"), <c>manifest</c> (model.json) and
/// <c>vocabulary</c> (a JSON array of tokens, index = id), and for a BPE model <c>merges</c> (<c>merges.json</c>). An adaptive
/// softmax model has <c>adaptive.head.weight</c>/<c>.bias</c> and <c>adaptive.tail.{k}.0.weight</c> (projection),
/// <c>adaptive.tail.{k}.1.weight</c> (cluster output) instead of the decoder. A locked-dropout model (format 2, one module per
/// layer, <c>rnns.{k}.*_l0</c>) is written under the fused names <c>rnn.*_l{k}</c>, so the same <c>RNNModel</c> loads it (its
/// dropouts are off in eval mode).
/// </summary>
public static class ModelSafetensors
{
    /// <summary>The metadata key naming a tied pair.</summary>
    public const string TiedWeightsKey = "tied_weights";

    /// <summary>The metadata key holding a BPE model's merges (the content of <c>merges.json</c>).</summary>
    public const string MergesKey = "merges";

    /// <summary>Loads the version at <paramref name="directory"/> (checking it) and returns its tensors and metadata.</summary>
    public static (IReadOnlyList<NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string directory)
    {
        var manifest = ModelArchive.PrepareExport(directory);
        var (_, model, vocabulary) = ModelArtifacts.Load(directory);
        var tensors = new List<NamedTensor>();
        using (model)
        using (var scope = NewDisposeScope())
        {
            foreach (var (name, tensor) in model.state_dict())
            {
                var values = tensor.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
                tensors.Add(new NamedTensor(Modeling.RnnLanguageModel.FusedName(name), tensor.shape.ToArray(), values));
            }
        }
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["manifest"] = JsonSerializer.Serialize(manifest, ModelManifest.JsonOptions),
            ["vocabulary"] = JsonSerializer.Serialize(vocabulary.Tokens),
        };
        if (manifest.Architecture.TieWeights) metadata[TiedWeightsKey] = "decoder.weight=encoder.weight";
        if (manifest.MergesFile is { } merges) metadata[MergesKey] = File.ReadAllText(Path.Combine(directory, merges));
        return (tensors, metadata);
    }
}
