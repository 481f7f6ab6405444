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
    /// <summary>
    /// The spec with the parent's tokenizer and architecture; null when <c>init</c> names no readable model. Each failure
    /// (<c>init</c>, or a field contradicting the parent) is an <see cref="InvalidSettingException"/> check, collected with
    /// the job's other errors inside <see cref="SettingErrors"/>.
    /// </summary>
    public static async Task<TrainingSpec?> InheritAsync(TrainingSpec spec, string init, JsonObject? ownTokenizer, JsonObject? ownModel,
        ModelVersionStore versions, IArtifactStore artifacts, CancellationToken ct)
    {
        ModelAddress address;
        try { address = ModelAddress.Parse(init, "init"); }
        catch (InvalidSettingException e) when (e is not InvalidSettingsException)
        {
            InvalidSettingException.Check(false, e.Field, e.Reason);
            return null;
        }
        var record = await versions.GetAsync(address.Name, address.Version, ct);
        if (record is null)
        {
            InvalidSettingException.Check(false, "init", $"There is no model '{ModelNames.Shorten(init)}' to start from. GET /api/models lists the models and their versions.");
            return null;
        }
        var parent = ModelAddress.Key(record.Name, record.Version);
        ModelManifest manifest;
        try { manifest = await artifacts.ReadModelManifestAsync(record.ArtifactPath, ct); }
        catch (ModelFormatException e)
        {
            InvalidSettingException.Check(false, "init", $"The model '{parent}' cannot be read to start from: {e.Reason}.");
            return null;
        }
        return WarmStartSpec.Inherit(spec, parent, manifest, ownTokenizer, ownModel);
    }

    /// <summary>The job's own <c>section</c> object (matched case-insensitively, as the job is read), before a preset fills it.</summary>
    public static JsonObject? OwnSection(JsonNode? body, string section) =>
        body is JsonObject o ? o.FirstOrDefault(kv => string.Equals(kv.Key, section, StringComparison.OrdinalIgnoreCase)).Value as JsonObject : null;
}
