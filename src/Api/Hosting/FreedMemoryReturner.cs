using Microsoft.Extensions.Options;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// Gives the C heap's freed memory back to the kernel every <c>RnnLm:Serving:ReturnFreedMemoryInterval</c>. The
/// launchers start the API with glibc never trimming (<see cref="NativeMemory.RecommendedTunables"/>, for training's
/// buffers), but training runs in its own processes: here freed inference buffers would otherwise stay resident at the
/// heap's highest extent, which rare peaks of concurrent long requests push up during a long run.
/// </summary>
internal sealed class FreedMemoryReturner(IOptions<RnnLmOptions> options, ILogger<FreedMemoryReturner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.Serving.ReturnFreedMemoryInterval;
        if (interval <= TimeSpan.Zero || !OperatingSystem.IsLinux()) return;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                if (NativeMemory.ReturnFreedMemory() && logger.IsEnabled(LogLevel.Debug))
                    logger.LogDebug("Returned freed C-heap memory to the kernel; heap now {Heap}", NativeMemory.HeapStats());
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
