using System.Runtime.InteropServices;
using RnnLmService.Core;
using Xunit;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>
/// What the worker does about the C allocator: it recognises the GLIBC_TUNABLES the launchers set, the launchers set
/// exactly those, malloc_trim gives freed heap memory back, and mallinfo2 accounts for what is in use and free. Serial: resident memory is process-wide.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class NativeMemoryTests
{
    private const int BufferBytes = 48 << 20;
    private const int PageBytes = 4096;

    [Fact]
    public void The_tunables_are_recognised_only_when_every_setting_is_present()
    {
        Assert.True(NativeMemory.KeepsFreedMemory(NativeMemory.RecommendedTunables));
        Assert.True(NativeMemory.KeepsFreedMemory("glibc.malloc.tcache_count=0:" + NativeMemory.RecommendedTunables));
        Assert.False(NativeMemory.KeepsFreedMemory(""));
        Assert.False(NativeMemory.KeepsFreedMemory("glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295"));
        Assert.False(NativeMemory.KeepsFreedMemory(NativeMemory.RecommendedTunables.Replace("arena_max=1", "arena_max=2", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("scripts/run.sh")]
    [InlineData("Dockerfile")]
    public void The_launchers_set_the_tunables_the_worker_expects(string launcher)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RnnLmService.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var text = File.ReadAllText(Path.Combine(dir.FullName, launcher));
        Assert.Contains($"GLIBC_TUNABLES={(launcher == "Dockerfile" ? "" : "\"${GLIBC_TUNABLES:-")}{NativeMemory.RecommendedTunables}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Trimming_returns_freed_heap_memory_to_the_kernel()
    {
        if (!OperatingSystem.IsLinux()) return;
        long before = 0, after = 0;
        var thread = new Thread(() =>
        {
            // As under the launchers' tunables: the buffer comes from the heap, not from its own mapping (whose free
            // would unmap it at once and prove nothing). A second block as large follows it and keeps it off the top of
            // the heap, which glibc trims only in the main arena (a small block could come from a free list elsewhere).
            Assert.Equal(1, Mallopt(MmapThreshold, int.MaxValue));
            var buffer = Marshal.AllocHGlobal(BufferBytes);
            var guard = Marshal.AllocHGlobal(BufferBytes);
            for (var offset = 0; offset < BufferBytes; offset += PageBytes) Marshal.WriteByte(buffer, offset, 1);
            Marshal.FreeHGlobal(buffer);
            before = ResidentBytes();
            NativeMemory.ReturnFreedMemory();
            after = ResidentBytes();
            Marshal.FreeHGlobal(guard);
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromMinutes(1)));
        Assert.True(before - after >= BufferBytes * 3L / 4, $"trim returned {(before - after) >> 20} MiB of the freed 48 MiB");
    }

    [Fact]
    public void The_heap_statistics_count_a_block_in_use_and_then_free()
    {
        if (!OperatingSystem.IsLinux()) return;
        NativeHeapStats? start = null, held = null, freed = null;
        var thread = new Thread(() =>
        {
            Assert.Equal(1, Mallopt(MmapThreshold, int.MaxValue)); // from the heap, as under the launchers' tunables
            start = NativeMemory.HeapStats();
            var buffer = Marshal.AllocHGlobal(BufferBytes);
            var guard = Marshal.AllocHGlobal(BufferBytes);           // keeps the freed block off the top of the heap
            held = NativeMemory.HeapStats();
            Marshal.FreeHGlobal(buffer);
            freed = NativeMemory.HeapStats();
            Marshal.FreeHGlobal(guard);
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromMinutes(1)));
        Assert.NotNull(start);
        // Other threads allocate meanwhile, hence the slack; the two blocks are 48 MiB each.
        Assert.InRange(held!.InUseBytes - start!.InUseBytes, 2L * BufferBytes - (8 << 20), 2L * BufferBytes + (8 << 20));
        Assert.InRange(freed!.FreeBytes - held.FreeBytes, BufferBytes - (8 << 20), BufferBytes + (8 << 20));
        foreach (var s in new[] { start, held, freed })
            Assert.Equal(s.HeapBytes, s.InUseBytes + s.FreeBytes);
    }

    private static long ResidentBytes() =>
        long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]) * Environment.SystemPageSize;

    private const int MmapThreshold = -3; // M_MMAP_THRESHOLD

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int param, int value);
}
