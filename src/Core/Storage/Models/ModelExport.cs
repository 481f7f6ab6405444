namespace RnnLmService.Core.Storage.Models;

/// <summary>The forms a model version can be exported in.</summary>
public enum ModelExportFormat
{
    /// <summary>The whole model directory as a tar archive (<see cref="ModelArchive"/>): what <c>POST /api/models/import</c> reads.</summary>
    Archive,
    /// <summary>The weights as a safetensors file with a PyTorch-style state dict (<see cref="ModelSafetensors"/>).</summary>
    Safetensors,
}

/// <summary>An export ready to stream: checked before the first byte is sent, so a damaged model fails with an error, not a truncated download.</summary>
/// <param name="MediaType">Content type of the stream.</param>
/// <param name="FileName">Suggested download name.</param>
/// <param name="WriteAsync">Writes the export to a stream.</param>
public sealed record ModelExport(string MediaType, string FileName, Func<Stream, CancellationToken, Task> WriteAsync)
{
    /// <summary>Parses the <c>format</c> query value: <c>archive</c> (default) or <c>safetensors</c>.</summary>
    public static ModelExportFormat ParseFormat(string? text, string field = "format") => text?.ToLowerInvariant() switch
    {
        null or "" or "archive" or "tar" => ModelExportFormat.Archive,
        "safetensors" => ModelExportFormat.Safetensors,
        _ => throw new InvalidSettingException(field, $"{field} must be 'archive' (default) or 'safetensors' (was '{text}')."),
    };

    /// <summary>Checks the version at <paramref name="directory"/> and prepares its export, named <c>{name}-{version}</c>.</summary>
    public static ModelExport Prepare(string directory, string name, int version, ModelExportFormat format)
    {
        var stem = $"{name}-{version}";
        if (format == ModelExportFormat.Safetensors)
        {
            var (tensors, metadata) = ModelSafetensors.Read(directory);
            return new ModelExport(SafetensorsWriter.MediaType, stem + ".safetensors", (s, ct) => SafetensorsWriter.WriteAsync(s, tensors, metadata, ct));
        }
        var manifest = ModelArchive.PrepareExport(directory);
        return new ModelExport(ModelArchive.MediaType, stem + ".tar", (s, ct) => ModelArchive.WriteAsync(directory, manifest, s, ct));
    }
}
