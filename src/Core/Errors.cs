namespace RnnLmService.Core;

/// <summary>
/// A caller's mistake: a setting, field or input that is out of range or inconsistent.
/// <see cref="Field"/> names the offending field (camelCase, as clients spell it) so a host can answer
/// a 400 that points at it.
/// </summary>
public class InvalidSettingException(string field, string message) : ArgumentException(message, field)
{
    /// <summary>The client-facing name of the field that is wrong, e.g. <c>hiddenSize</c>.</summary>
    public string Field { get; } = field;

    /// <summary>The reason alone, without the parameter suffix <see cref="ArgumentException"/> adds.</summary>
    public string Reason { get; } = message;

    /// <summary>
    /// Throws when <paramref name="ok"/> is false; inside <see cref="SettingErrors.Collect"/> records the failure and
    /// returns, so that all of a request's failed checks are reported together.
    /// </summary>
    public static void Check(bool ok, string field, string message)
    {
        if (ok) return;
        if (SettingErrors.Active is { } collector) collector.Add(field, message);
        else throw new InvalidSettingException(field, message);
    }
}

/// <summary>A corpus that cannot be used: empty, not UTF-8, too small for the requested batching.</summary>
public sealed class CorpusException(string field, string message) : InvalidSettingException(field, message);

/// <summary>A model directory or checkpoint that is missing, truncated, of another format or of wrong shapes.</summary>
public sealed class ModelFormatException(string path, string message) : Exception($"{message} ({path})")
{
    /// <summary>The file or directory at fault.</summary>
    public string Path { get; } = path;

    /// <summary>The reason alone, without the server-side path (safe to show a client).</summary>
    public string Reason { get; } = message;
}

/// <summary>
/// A model archive sent for import that cannot be accepted: not a tar, a member with a path, link, duplicate or
/// unexpected name, a member over the size limit, a hash that differs from model.json, weights that do not load.
/// Nothing of it is kept.
/// </summary>
public sealed class InvalidArchiveException(string message) : InvalidSettingException("archive", message);

/// <summary>TorchSharp's native library (LibTorch) could not be loaded on this machine.</summary>
public sealed class NativeLibraryException(string message, Exception? inner = null) : Exception(message, inner);
