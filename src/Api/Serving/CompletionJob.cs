using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Models;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Serving;

/// <summary>What a completions request asks for, checked.</summary>
/// <param name="N">Choices returned per prompt.</param>
/// <param name="BestOf">Choices generated per prompt (≥ N); the N with the highest total log-probability are returned.</param>
/// <param name="MaxTokens">Most tokens per choice; 0 generates nothing (echo only).</param>
/// <param name="Logprobs">Most likely tokens to report per position, or null for no logprobs.</param>
/// <param name="Echo">Whether the prompt comes first in each choice (and in its logprobs).</param>
/// <param name="IncludeUsage">Whether a stream ends with a usage chunk.</param>
/// <param name="Options">Generation options of choice 0 (choice i uses seed + i).</param>
internal sealed record CompletionPlan(int N, int BestOf, int MaxTokens, int? Logprobs, bool Echo, bool IncludeUsage, GenerationOptions Options);

/// <summary>One OpenAI completions request: its prompts × choices, whole or as a stream of chunks.</summary>
internal sealed class CompletionJob(ModelLease lease, IReadOnlyList<string> prompts, CompletionPlan plan) : IOpenAiJob<CompletionResponse>
{
    private readonly string id = $"cmpl-{Guid.NewGuid():N}";
    private readonly long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private IServedModel Model => lease.Model;

    /// <summary>The whole answer.</summary>
    public async Task<CompletionResponse> RunAsync(CancellationToken cancellationToken)
    {
        var choices = new List<CompletionChoice>();
        var promptTokens = 0;
        var completionTokens = 0;
        for (var p = 0; p < prompts.Count; p++)
        {
            var echoed = await EchoAsync(prompts[p], cancellationToken);
            promptTokens += echoed.TokenCount;
            var results = new OpenAiChoice[plan.BestOf];
            for (var i = 0; i < results.Length; i++) results[i] = new(plan.Echo ? prompts[p].Length : 0);
            if (plan.MaxTokens > 0)
                await foreach (var (i, step) in Generations.Start(Model, prompts[p], Runs(plan.BestOf), cancellationToken).WithCancellation(cancellationToken))
                    results[i].Add(step);
            completionTokens += results.Sum(r => r.Tokens.Count);   // best_of: every generated token is work done, as OpenAI counts it
            var kept = plan.BestOf > plan.N && plan.MaxTokens > 0
                ? results.OrderByDescending(r => r.TotalLogprob).Take(plan.N)
                : results.Take(plan.N);
            choices.AddRange(kept.Select((r, i) => new CompletionChoice
            {
                Index = p * plan.N + i,
                Text = (plan.Echo ? prompts[p] : "") + r.Text,
                Logprobs = plan.Logprobs is null ? null : Merge(echoed.Logprobs, r.Logprobs()),
                FinishReason = r.FinishReason ?? "length",
            }));
        }
        return new CompletionResponse
        {
            Id = id,
            Created = created,
            Model = lease.Key,
            Choices = choices,
            Usage = Usage(promptTokens, completionTokens),
        };
    }

    /// <summary>The answer as Server-Sent Events: chunks, a usage chunk when asked, then <c>[DONE]</c>. Owns the lease.</summary>
    public async IAsyncEnumerable<SseItem<string>> StreamAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = lease;
        var promptTokens = 0;
        var completionTokens = 0;
        for (var p = 0; p < prompts.Count; p++)
        {
            var echoed = await EchoAsync(prompts[p], cancellationToken);
            promptTokens += echoed.TokenCount;
            if (plan.Echo)
                for (var i = 0; i < plan.N; i++)
                    yield return Chunk(p * plan.N + i, prompts[p], plan.Logprobs is null ? null : echoed.Logprobs, plan.MaxTokens == 0 ? "length" : null);
            if (plan.MaxTokens == 0) continue;
            var offsets = new int[plan.N];
            if (plan.Echo) Array.Fill(offsets, prompts[p].Length);
            await foreach (var (i, step) in Generations.Start(Model, prompts[p], Runs(plan.N), cancellationToken).WithCancellation(cancellationToken))
            {
                var choice = new OpenAiChoice(offsets[i]);
                choice.Add(step);
                offsets[i] += choice.Text.Length;
                completionTokens += choice.Tokens.Count;
                yield return Chunk(p * plan.N + i, choice.Text, plan.Logprobs is null ? null : choice.Logprobs(), choice.FinishReason);
            }
        }
        if (plan.IncludeUsage)
            yield return new SseItem<string>(JsonSerializer.Serialize(new CompletionResponse
            {
                Id = id, Created = created, Model = lease.Key, Choices = [], Usage = Usage(promptTokens, completionTokens),
            }));
        yield return new SseItem<string>("[DONE]");
    }

    private static CompletionUsage Usage(int prompt, int completion) =>
        new() { PromptTokens = prompt, CompletionTokens = completion, TotalTokens = prompt + completion };

    private SseItem<string> Chunk(int index, string text, CompletionLogprobs? lp, string? finish) =>
        new(JsonSerializer.Serialize(new CompletionResponse
        {
            Id = id,
            Created = created,
            Model = lease.Key,
            Choices = [new CompletionChoice { Index = index, Text = text, Logprobs = lp, FinishReason = finish }],
        }));

    private List<GenerationOptions> Runs(int count) =>
        Enumerable.Range(0, count).Select(i => plan.Options with { Seed = plan.Options.Seed is { } s ? s + i : null }).ToList();

    /// <summary>
    /// The prompt's token count and, when echoing with logprobs, its scored tokens with the <c>logprobs</c> most likely
    /// tokens at each position. The first token has no log-probability in OpenAI's answers (null there too), though
    /// this model does predict it from the line start (<c>/api/models/{model}/score</c> reports it).
    /// </summary>
    private async Task<(int TokenCount, CompletionLogprobs? Logprobs)> EchoAsync(string prompt, CancellationToken cancellationToken)
    {
        if (!(plan.Echo && plan.Logprobs is { } top))
            return ((await Model.TokenizeAsync(prompt, cancellationToken)).Count, null);
        var score = await Model.ScoreAsync(new ScoreQuery(prompt, top), cancellationToken);
        var offsets = new List<int>();
        var cursor = 0;
        foreach (var t in score.Tokens)
        {
            var at = prompt.IndexOf(t.Token, cursor, StringComparison.Ordinal);
            offsets.Add(at < 0 ? cursor : at);
            if (at >= 0) cursor = at + t.Token.Length;
        }
        return (score.Tokens.Count, new CompletionLogprobs
        {
            Tokens = score.Tokens.Select(t => t.Token).ToList(),
            TokenLogprobs = score.Tokens.Select((t, i) => i == 0 ? null : (double?)t.LogProbability).ToList(),
            TopLogprobs = score.Tokens.Select((t, i) => i == 0 ? null : (IReadOnlyDictionary<string, double>?)(t.Alternatives ?? [])
                .GroupBy(a => a.Word).ToDictionary(g => g.Key, g => g.First().LogProbability)).ToList(),
            TextOffset = offsets,
        });
    }

    private static CompletionLogprobs Merge(CompletionLogprobs? first, CompletionLogprobs second) => first is null ? second : new()
    {
        Tokens = [.. first.Tokens, .. second.Tokens],
        TokenLogprobs = [.. first.TokenLogprobs, .. second.TokenLogprobs],
        TopLogprobs = [.. first.TopLogprobs, .. second.TopLogprobs],
        TextOffset = [.. first.TextOffset, .. second.TextOffset],
    };
}
