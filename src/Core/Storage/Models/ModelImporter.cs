using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Core.Storage.Models;

/// <summary>What an import registered, and the import record written into its <c>model.json</c>.</summary>
public sealed record ImportedModel(ModelVersionRecord Record, ModelOrigin Origin);

/// <summary>
/// Brings a model archive (<see cref="ModelArchive"/>) into the store: unpacks it into a staging directory under
/// <c>models/</c>, checks names, sizes and hashes and that the weights load, then registers the next version of the
/// name and renames the staged directory into <c>models/{name}/{version}</c>. Any failure deletes the staging
/// directory: nothing is written outside the store and nothing is left behind.
/// </summary>
public sealed class ModelImporter(ModelVersionStore versions, IOptions<RnnLmOptions> options, TimeProvider clock, IArtifactStore artifacts)
{
    /// <summary>
    /// Imports <paramref name="archive"/> as the next version of <paramref name="name"/> (null: the name in the archive's
    /// manifest). Throws <see cref="InvalidArchiveException"/> or <see cref="InvalidSettingException"/> for a bad request.
    /// </summary>
    public async Task<ImportedModel> ImportAsync(Stream archive, string? name, bool promote, CancellationToken ct = default)
    {
        if (name is not null) ModelNames.Check(name, "name");
        var models = Path.Combine(options.Value.DataPath, "models");
        RemoveAbandonedImports(models);
        var madeModels = !Directory.Exists(models);
        var staging = Path.Combine(models, $"{StagingPrefix}{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var (manifest, archiveSha256) = await ModelArchive.ExtractAsync(archive, staging, options.Value.Serving.MaxImportBytes, ct);
            CheckLoads(staging);
            if (name is null)
                InvalidSettingException.Check(ModelNames.IsValid(manifest.Name), "name",
                    $"the archive's model name '{manifest.Name}' is not a valid name here; give one with ?name= ({ModelNames.Rule}).");
            var target = name ?? manifest.Name;
            var origin = new ModelOrigin
            {
                Source = $"{manifest.Name}@{manifest.Version}",
                SourceCreatedAt = manifest.CreatedAt,
                ArchiveSha256 = archiveSha256,
                ImportedAt = clock.GetUtcNow(),
            };
            var metrics = JsonSerializer.Serialize(manifest.Metrics, ModelManifest.JsonOptions);
            var record = await versions.RegisterImportedAsync(target, metrics, promote,
                version => PlaceAsync(staging, target, version, manifest with { Name = target, Version = version, Origin = origin }), ct);
            return new ImportedModel(record, origin);
        }
        finally
        {
            try
            {
                if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
                if (madeModels && !Directory.EnumerateFileSystemEntries(models).Any()) Directory.Delete(models);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private const string StagingPrefix = ".import-";

    /// <summary>Staging directories of imports a crash interrupted (older than an hour; a running import is minutes at most).</summary>
    private void RemoveAbandonedImports(string models)
    {
        if (!Directory.Exists(models)) return;
        foreach (var dir in Directory.EnumerateDirectories(models, StagingPrefix + "*"))
        {
            try
            {
                if (Directory.GetLastWriteTimeUtc(dir) < clock.GetUtcNow().UtcDateTime.AddHours(-1)) Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: another import may be removing it too.
            }
        }
    }

    /// <summary>Loads the staged model once (TorchSharp, then freed): weights that do not fit the architecture are the client's error.</summary>
    private static void CheckLoads(string staging)
    {
        try
        {
            var (_, model, _) = ModelArtifacts.Load(staging);
            model.Dispose();
        }
        catch (ModelFormatException e)
        {
            throw new InvalidArchiveException($"the model in the archive cannot be loaded: {e.Reason}.");
        }
    }

    /// <summary>Writes the manifest with its new name, version and import record, and puts the staged directory in place.</summary>
    private async Task<string> PlaceAsync(string staging, string name, int version, ModelManifest manifest)
    {
        File.WriteAllText(Path.Combine(staging, ModelArtifacts.ManifestFile), JsonSerializer.Serialize(manifest, ModelManifest.JsonOptions));
        var relative = $"models/{name}/{version.ToString(CultureInfo.InvariantCulture)}";
        // The store row for this number is ours (not yet committed): anything already there is a leftover of a crash before commit.
        await artifacts.DeleteAsync(relative);
        await artifacts.PutDirectoryAsync(staging, relative, ModelArtifacts.ManifestFile);
        return relative;
    }
}
