using System.Net.ServerSentEvents;

namespace RnnLmService.Api.Serving;

/// <summary>An OpenAI-style request run on a leased model: whole (<see cref="RunAsync"/>) or streamed as chunks (<see cref="StreamAsync"/>).</summary>
/// <typeparam name="TResponse">The whole answer.</typeparam>
internal interface IOpenAiJob<TResponse>
{
    /// <summary>Runs to the end and returns the whole answer.</summary>
    Task<TResponse> RunAsync(CancellationToken cancellationToken);

    /// <summary>The answer as Server-Sent Event chunks, <c>[DONE]</c> last; releases the lease when it ends.</summary>
    IAsyncEnumerable<SseItem<string>> StreamAsync(CancellationToken cancellationToken);
}
