using System.Runtime.InteropServices;

namespace RnnLmService.Bench;

/// <summary>
/// The in-process form of the tuned allocator (<c>--malloc tuned</c> sets GLIBC_TUNABLES before start):
/// glibc's mallopt, called once at start, so that LibTorch's freed step buffers stay in the heap.
/// glibc 2.41 accepts any int for M_MMAP_THRESHOLD; some older releases refuse values above 32 MiB (hence the check).
/// </summary>
internal static class Malloc
{
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_THRESHOLD = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int param, int value);

    /// <summary>Returns whether glibc accepted both settings.</summary>
    public static bool KeepFreedMemory() =>
        Mallopt(M_MMAP_THRESHOLD, int.MaxValue) == 1 && Mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1;
}
