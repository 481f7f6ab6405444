using System.Diagnostics.Metrics;
using RnnLmService.Core;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// Where the process's memory is, on <c>/metrics</c>: the C heap (LibTorch's tensors: what glibc has from the kernel,
/// what is in use, what is freed but kept; the live tensors; SQLite's share) and the .NET GC heap (after the last
/// collection, and committed). With the
/// resident set (<c>process_working_set_bytes</c>) they tell a leak from a cache filling or an allocator keeping memory.
/// </summary>
internal static class ProcessMemoryMetrics
{
    /// <summary>Creates the gauges on <paramref name="meter"/> (exported as <c>rnnlm_memory_*</c>).</summary>
    public static void Register(Meter meter)
    {
        meter.CreateObservableGauge("memory.native_heap", () => NativeMemory.HeapStats()?.HeapBytes ?? 0, "By",
            "Bytes the C allocator has from the kernel (glibc mallinfo2: heaps and mapped blocks).");
        meter.CreateObservableGauge("memory.native_in_use", () => NativeMemory.HeapStats()?.InUseBytes ?? 0, "By",
            "Bytes in allocated C-heap blocks (LibTorch tensors, caches, native buffers).");
        meter.CreateObservableGauge("memory.native_free", () => NativeMemory.HeapStats()?.FreeBytes ?? 0, "By",
            "Bytes freed but kept in the C heap until RnnLm:Serving:ReturnFreedMemoryInterval trims it.");
        meter.CreateObservableGauge("memory.tensors", () => TorchSharp.torch.Tensor.TotalCount, "{tensor}",
            "TorchSharp tensors alive (made and not yet disposed or finalized): weights, cached states, batches in flight.");
        meter.CreateObservableGauge("memory.sqlite", () => SQLitePCL.raw.sqlite3_memory_used(), "By",
            "Bytes SQLite has allocated (page caches of the store's pooled connections), part of the C heap in use.");
        meter.CreateObservableGauge("memory.gc_heap", () => GC.GetGCMemoryInfo().HeapSizeBytes, "By",
            "Bytes of the .NET GC heap after the last collection.");
        meter.CreateObservableGauge("memory.gc_committed", () => GC.GetGCMemoryInfo().TotalCommittedBytes, "By",
            "Bytes the .NET GC has committed.");
    }
}
