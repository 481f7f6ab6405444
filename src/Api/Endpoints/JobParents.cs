using System.Text.Json.Nodes;
using RnnLmService.Api.Models;
using RnnLmService.Core;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Endpoints;

/// <summary>
/// The <c>init</c> of a job (warm start), checked when it is queued: <c>name@version</c>, or a bare <c>name</c> for the
/// version it resolves to now (promoted, else newest) — the job records the exact version, so what it continues from
/// does not move if the name is promoted later.
/// </summary>
internal static class JobParents
{
    /// <summary>The spec with the parent's tokenizer and architecture; 400 naming <c>init</c> or the contradicting field.</summary>
    public static async Task<TrainingSpec> InheritAsync(TrainingSpec spec, string init, JsonObject? ownTokenizer, JsonObject? ownModel,
        ModelVersionStore versions, IArtifactStore artifacts, CancellationToken ct)
    {
        var address = ModelAddress.Parse(init, "init");
        var record = await versions.GetAsync(address.Name, address.Version, ct)
            ?? throw new InvalidSettingException("init", $"There is no model '{ModelNames.Shorten(init)}' to start from. GET /api/models lists the models and their versions.");
        var parent = ModelAddress.Key(record.Name, record.Version);
        ModelManifest manifest;
        try { manifest = await artifacts.ReadModelManifestAsync(record.ArtifactPath, ct); }
        catch (ModelFormatException e)
        {
            throw new InvalidSettingException("init", $"The model '{parent}' cannot be read to start from: {e.Reason}.");
        }
        return WarmStartSpec.Inherit(spec, parent, manifest, ownTokenizer, ownModel);
    }

    /// <summary>The job's own <c>section</c> object (matched case-insensitively, as the job is read), before a preset fills it.</summary>
    public static JsonObject? OwnSection(JsonNode? body, string section) =>
        body is JsonObject o ? o.FirstOrDefault(kv => string.Equals(kv.Key, section, StringComparison.OrdinalIgnoreCase)).Value as JsonObject : null;
}
