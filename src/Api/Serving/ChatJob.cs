using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Models;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Serving;

/// <summary>One chat completions request: n replies to the rendered conversation (<see cref="ChatTemplate"/>), whole or streamed.</summary>
internal sealed class ChatJob(ModelLease lease, string prompt, int n, bool logprobs, bool includeUsage, GenerationOptions options) : IOpenAiJob<ChatCompletionResponse>
{
    private readonly string id = $"chatcmpl-{Guid.NewGuid():N}";
    private readonly long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>The whole answer.</summary>
    public async Task<ChatCompletionResponse> RunAsync(CancellationToken cancellationToken)
    {
        var promptTokens = (await lease.Model.TokenizeAsync(prompt, cancellationToken)).Count;
        var replies = Enumerable.Range(0, n).Select(_ => new OpenAiChoice()).ToArray();
        await foreach (var (i, step) in Generations.Start(lease.Model, prompt, Runs(), cancellationToken).WithCancellation(cancellationToken))
            replies[i].Add(step);
        return new ChatCompletionResponse
        {
            Id = id,
            Created = created,
            Model = lease.Key,
            Choices = replies.Select((r, i) => new ChatChoice
            {
                Index = i,
                Message = new ChatReply { Content = r.Text },
                Logprobs = logprobs ? OpenAiChoice.ChatLogprobs(r.Tokens) : null,
                FinishReason = r.FinishReason ?? "length",
            }).ToList(),
            Usage = Usage(promptTokens, replies.Sum(r => r.Tokens.Count)),
        };
    }

    /// <summary>
    /// The answer as Server-Sent Events: per choice a first chunk with the role, chunks of text, a last chunk with the
    /// finish reason; a usage chunk when asked; then <c>[DONE]</c>. Owns the lease.
    /// </summary>
    public async IAsyncEnumerable<SseItem<string>> StreamAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = lease;
        var promptTokens = (await lease.Model.TokenizeAsync(prompt, cancellationToken)).Count;
        var completionTokens = 0;
        for (var i = 0; i < n; i++)
            yield return Chunk(new ChatChunkChoice { Index = i, Delta = new ChatDelta { Role = "assistant", Content = "" } });
        await foreach (var (i, step) in Generations.Start(lease.Model, prompt, Runs(), cancellationToken).WithCancellation(cancellationToken))
        {
            var piece = new OpenAiChoice();
            piece.Add(step);
            completionTokens += piece.Tokens.Count;
            if (piece.Text.Length > 0 || (logprobs && piece.Tokens.Count > 0))
                yield return Chunk(new ChatChunkChoice
                {
                    Index = i,
                    Delta = new ChatDelta { Content = piece.Text },
                    Logprobs = logprobs ? OpenAiChoice.ChatLogprobs(piece.Tokens) : null,
                });
            if (piece.FinishReason is { } finish)
                yield return Chunk(new ChatChunkChoice { Index = i, Delta = new ChatDelta(), FinishReason = finish });
        }
        if (includeUsage)
            yield return new SseItem<string>(JsonSerializer.Serialize(new ChatCompletionChunk
            {
                Id = id, Created = created, Model = lease.Key, Choices = [], Usage = Usage(promptTokens, completionTokens),
            }));
        yield return new SseItem<string>("[DONE]");
    }

    private SseItem<string> Chunk(ChatChunkChoice choice) =>
        new(JsonSerializer.Serialize(new ChatCompletionChunk { Id = id, Created = created, Model = lease.Key, Choices = [choice] }));

    private static CompletionUsage Usage(int prompt, int completion) =>
        new() { PromptTokens = prompt, CompletionTokens = completion, TotalTokens = prompt + completion };

    private List<GenerationOptions> Runs() =>
        Enumerable.Range(0, n).Select(i => options with { Seed = options.Seed is { } s ? s + i : null }).ToList();
}
