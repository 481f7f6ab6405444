using System.Runtime.InteropServices;

namespace RnnLmService.Core;

/// <summary>
/// How the C allocator treats LibTorch's large per-step buffers. With glibc's defaults a training step's freed
/// buffers go back to the kernel and the next step page-faults them in again: on the 2-core benchmark VM that made
/// training 3x slower (bench/RESULTS.md). The cure must be in the environment before the process starts
/// (<see cref="RecommendedTunables"/>, which the launchers set): a training thread allocates from its own glibc arena,
/// whose 64 MB heaps are unmapped when empty whatever the thresholds, and by the time <c>Main</c> runs the .NET runtime
/// has made enough arenas that <c>mallopt(M_ARENA_MAX)</c> no longer takes effect.
/// </summary>
public static class NativeMemory
{
    /// <summary>
    /// The GLIBC_TUNABLES the launchers set (scripts/run.sh, the Dockerfile): one arena, every allocation from the heap,
    /// the heap never trimmed by glibc itself; <see cref="ReturnFreedMemory"/> returns it when a job ends.
    /// </summary>
    public const string RecommendedTunables =
        "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295";

    /// <summary>Whether this process started with <see cref="RecommendedTunables"/> in its GLIBC_TUNABLES (each setting present).</summary>
    public static bool KeepsFreedMemory(string? tunables = null)
    {
        tunables ??= Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        var present = tunables.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return RecommendedTunables.Split(':').All(present.Contains);
    }

    /// <summary>
    /// Returns free heap memory to the kernel (glibc <c>malloc_trim(0)</c>: the main arena's top and the free chunks of
    /// every arena); false when nothing was returned or the C library is not glibc.
    /// </summary>
    public static bool ReturnFreedMemory()
    {
        try
        {
            return MallocTrim(0) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
