using System.Text.Json;
using System.Text.Json.Nodes;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Storage.Jobs;

/// <summary>
/// A job's spec when it names <c>init</c>: the tokenizer and the architecture are the parent's (a warm start keeps its
/// vocabulary and weight shapes), and a field the job gives itself must agree with the parent or the job is refused
/// naming it (<c>model.hiddenSize</c>; every such field is a check, collected inside <see cref="SettingErrors"/>). Only the job's own fields are compared; a preset's tokenizer and model
/// settings give way to the parent's.
/// </summary>
public static class WarmStartSpec
{
    /// <summary>
    /// <paramref name="spec"/> with <c>Init</c> = <paramref name="parent"/> and the parent's tokenizer and architecture;
    /// <paramref name="ownTokenizer"/> and <paramref name="ownModel"/> are the job's own JSON objects (before any preset).
    /// </summary>
    public static TrainingSpec Inherit(TrainingSpec spec, string parent, ModelManifest manifest, JsonObject? ownTokenizer, JsonObject? ownModel)
    {
        CheckAgrees("tokenizer", manifest.Tokenizer, ownTokenizer, parent);
        CheckAgrees("model", manifest.Architecture, ownModel, parent);
        return spec with { Init = parent, Tokenizer = manifest.Tokenizer, Model = manifest.Architecture };
    }

    /// <summary>Each field of <paramref name="own"/>, put over the parent's settings, must leave them unchanged.</summary>
    private static void CheckAgrees<T>(string section, T parentValue, JsonObject? own, string parent) where T : notnull
    {
        if (own is null) return;
        var parentJson = JsonSerializer.SerializeToNode(parentValue, JobSpecJson.Options)!.AsObject();
        foreach (var (key, value) in own)
        {
            var candidate = (JsonObject)parentJson.DeepClone();
            var canonical = candidate.Select(kv => kv.Key).FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) ?? key;
            candidate.Remove(canonical);
            candidate[canonical] = value?.DeepClone();
            T? read;
            try { read = candidate.Deserialize<T>(JobSpecJson.Options); }
            catch (JsonException) { read = default; }
            if (read is not null && read.Equals(parentValue)) continue;
            var parentText = parentJson[canonical]?.ToJsonString() ?? "unset";
            InvalidSettingException.Check(false, $"{section}.{canonical}",
                $"{section}.{canonical} is {value?.ToJsonString() ?? "null"} but the parent model '{parent}' has {parentText}: a warm start (init) keeps its parent's " +
                $"tokenizer, vocabulary and architecture; leave {section}.{canonical} out.");
        }
    }
}
