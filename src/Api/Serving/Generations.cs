using System.Runtime.CompilerServices;
using System.Threading.Channels;
using RnnLmService.Api.Models;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Serving;

/// <summary>Runs several generations of one prompt and merges their steps in the order they are produced.</summary>
internal static class Generations
{
    /// <summary>
    /// Starts one stream per entry of <paramref name="options"/> (queue full: throws before anything runs) and
    /// returns their steps tagged with the entry's index. Stopping the enumeration (or cancelling) stops all streams.
    /// </summary>
    public static IAsyncEnumerable<(int Index, GenerationStep Step)> Start(IServedModel model, string prompt, IReadOnlyList<GenerationOptions> options, CancellationToken cancellationToken)
    {
        var handles = new List<StreamHandle<GenerationStep>>();
        try
        {
            foreach (var o in options)
                handles.Add(model.StartGeneration(prompt, o));
        }
        catch
        {
            foreach (var h in handles) h.Dispose();
            throw;
        }
        return Merge(handles, cancellationToken);
    }

    private static async IAsyncEnumerable<(int Index, GenerationStep Step)> Merge(
        List<StreamHandle<GenerationStep>> handles, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var merged = Channel.CreateUnbounded<(int, GenerationStep)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = handles.Select(async (handle, index) =>
        {
            await foreach (var step in handle.ReadAllAsync(stop.Token))
                merged.Writer.TryWrite((index, step));
        }).ToList();
        _ = Task.WhenAll(pumps).ContinueWith(t => merged.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        try
        {
            await foreach (var item in merged.Reader.ReadAllAsync(cancellationToken))
                yield return item;
        }
        finally
        {
            stop.Cancel();
            foreach (var h in handles) h.Dispose();
        }
    }

    /// <summary>The API's spelling of a finish reason.</summary>
    public static string Name(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.Stop => "stop",
        _ => "end_of_line",
    };
}
