using System.Runtime.InteropServices;

namespace RnnLmService.Core.Storage;

/// <summary>
/// fsync for files and directories, so a rename that publishes an artifact (checkpoint, dataset, model) never points at
/// data still in the page cache when the machine loses power. .NET flushes files (<c>FileStream.Flush(true)</c>) but
/// cannot open a directory, hence libc's <c>open</c>/<c>fsync</c> for those. A no-op where libc is missing.
/// </summary>
public static class Durable
{
    /// <summary>fsyncs every file below <paramref name="directory"/>, then every directory bottom-up (itself last).</summary>
    public static void FlushTree(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)) FlushFile(file);
        foreach (var dir in Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
            FlushDirectory(dir);
        FlushDirectory(directory);
    }

    /// <summary>fsyncs one file's data and metadata.</summary>
    public static void FlushFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>fsyncs a directory's entries (after a rename or create in it).</summary>
    public static void FlushDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        try
        {
            var fd = Open(path, 0 /* O_RDONLY */);
            if (fd < 0) return;
            try { Fsync(fd); }
            finally { Close(fd); }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/> and fsyncs the parent directories of both.</summary>
    public static void MoveDirectory(string from, string to)
    {
        Directory.Move(from, to);
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(to))!);
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(from))!);
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
