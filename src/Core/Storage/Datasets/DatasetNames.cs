using System.Text;

namespace RnnLmService.Core.Storage.Datasets;

/// <summary>Length bounds of what a client sends with a dataset, applied before the value is buffered.</summary>
public static class DatasetNames
{
    /// <summary>Longest dataset name (the <c>name</c> field of an upload), in characters.</summary>
    public const int MaxLength = 200;

    /// <summary>Longest upload file name (<c>filename</c> of a multipart section), in characters.</summary>
    public const int MaxFileNameLength = 255;

    /// <summary>Most bytes of one multipart section's headers (Content-Disposition with its file name).</summary>
    public const int MaxSectionHeaderBytes = 4096;

    /// <summary>
    /// Reads a form field of at most <see cref="MaxLength"/> characters, never buffering more than that
    /// (<see cref="InvalidSettingException"/> on <c>name</c> when longer or not UTF-8).
    /// </summary>
    public static async Task<string> ReadBoundedAsync(Stream body, CancellationToken ct)
    {
        var buffer = new char[MaxLength + 1];
        using var reader = new StreamReader(body, new UTF8Encoding(false, throwOnInvalidBytes: true), false, bufferSize: 256, leaveOpen: true);
        var count = 0;
        try
        {
            int read;
            while (count < buffer.Length && (read = await reader.ReadAsync(buffer.AsMemory(count), ct)) > 0)
                count += read;
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidSettingException("name", "name is not valid UTF-8.");
        }
        InvalidSettingException.Check(count <= MaxLength, "name", $"name is longer than {MaxLength} characters.");
        return new string(buffer, 0, count);
    }
}
