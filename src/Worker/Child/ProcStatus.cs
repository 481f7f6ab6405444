namespace RnnLmService.Worker.Child;

/// <summary>This process's memory as Linux reports it in <c>/proc/self/status</c>.</summary>
public static class ProcStatus
{
    /// <summary>Peak resident set size (VmHWM) in bytes; null where /proc is missing.</summary>
    public static long? PeakResidentBytes() => Read("VmHWM:");

    private static long? Read(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }
}
