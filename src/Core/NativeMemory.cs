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

    /// <summary>
    /// glibc's own account of the C heap (<c>mallinfo2</c>, glibc 2.33+): what LibTorch's tensors and other native code
    /// hold, and what is freed but kept in the heap; null when the C library is not glibc or too old.
    /// </summary>
    public static NativeHeapStats? HeapStats()
    {
        try
        {
            var info = MallInfo2();
            return new NativeHeapStats((long)(info.Arena + info.Hblkhd), (long)(info.Uordblks + info.Hblkhd), (long)info.Fordblks);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallocInfo MallInfo2();

    /// <summary>glibc's <c>struct mallinfo2</c>: ten size_t counters, in this order.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MallocInfo
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }
}

/// <param name="HeapBytes">Bytes the allocator has from the kernel: its heaps (sbrk and arena heaps) and its own mappings.</param>
/// <param name="InUseBytes">Bytes in allocated blocks, mapped ones included.</param>
/// <param name="FreeBytes">Bytes freed but kept in the heaps (resident once touched, until trimmed).</param>
public sealed record NativeHeapStats(long HeapBytes, long InUseBytes, long FreeBytes);
