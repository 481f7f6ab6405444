using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Models;
using RnnLmService.Api.Serving;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Inference;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Endpoints;

/// <summary>
/// The OpenAI-compatible subset: <c>GET /v1/models</c> and <c>POST /v1/completions</c>, so stock OpenAI client
/// libraries work against <c>{base}/v1</c>. Errors here use OpenAI's error shape (see <see cref="OpenAiErrorWriter"/>).
/// </summary>
public static class OpenAiApi
{
    private const int MaxLogprobs = 5;
    private const int MaxStop = 4;

    /// <summary>Maps <c>/v1</c>.</summary>
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("OpenAI-compatible").RequireApiRole(ApiKeyRoles.Read).WithInferenceLimits();
        group.MapGet("/models", ListModels)
            .WithName("OpenAiListModels")
            .WithSummary("List models (OpenAI shape)")
            .WithDescription("Every addressable model: each name (its promoted, else newest, version) and each name@version.");
        group.MapPost("/completions", Complete)
            .WithName("OpenAiCompletions")
            .WithSummary("Create a completion (OpenAI legacy completions)")
            .WithDescription("model, prompt (string or list), max_tokens, temperature, top_p, n, stop (string or list), seed, stream "
                + "(data: chunks ending with data: [DONE]), logprobs (top alternatives per token), echo. max_tokens 0 with echo "
                + "and logprobs scores the prompt. Unknown fields are ignored. Errors: {\"error\": {message, type, param, code}}.")
            .Produces<CompletionResponse>(StatusCodes.Status200OK)
            .Produces<CompletionResponse>(StatusCodes.Status200OK, "text/event-stream")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status413PayloadTooLarge)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status429TooManyRequests)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Ok<OpenAiModelList>> ListModels(ModelRegistry registry, CancellationToken cancellationToken)
    {
        var catalog = await registry.RefreshAsync(cancellationToken);
        var data = new List<OpenAiModel>();
        foreach (var name in catalog.Versions.GroupBy(v => v.Name))
        {
            var resolved = catalog.Resolve(name.Key, "model")!;
            data.Add(new OpenAiModel { Id = name.Key, Created = Unix(resolved.CreatedAt) });
            data.AddRange(name.Select(v => new OpenAiModel { Id = ModelAddress.Key(v.Name, v.Version), Created = Unix(v.CreatedAt) }));
        }
        return TypedResults.Ok(new OpenAiModelList { Data = data });
    }

    private static async Task<IResult> Complete(CompletionRequest request, HttpContext http, ModelRegistry registry, IOptions<RnnLmOptions> options)
    {
        var serving = options.Value.Serving;
        var prompts = request.Prompt?.Values ?? throw new InvalidSettingException("prompt", "prompt is required.");
        InvalidSettingException.Check(prompts.Count is >= 1, "prompt", "prompt must be a string or a non-empty list of strings.");
        RequestChecks.Range(prompts.Count, 1, serving.MaxBatchSize, "prompt", "at most RnnLm:Serving:MaxBatchSize prompts");
        foreach (var p in prompts) RequestChecks.Text(p, "prompt", serving.MaxPromptCharacters);
        var maxTokens = request.MaxTokens ?? 16;
        RequestChecks.Range(maxTokens, 0, serving.MaxNewTokens, "max_tokens", "RnnLm:Serving:MaxNewTokens");
        var n = request.N ?? 1;
        RequestChecks.Range(n, 1, serving.MaxCompletions, "n", "RnnLm:Serving:MaxCompletions");
        var temperature = request.Temperature ?? 1.0;
        RequestChecks.Range(temperature, 0, 2, "temperature");
        var topP = request.TopP ?? 1.0;
        RequestChecks.TopP(topP, "top_p");
        var logprobs = request.Logprobs;
        if (logprobs is { } lp) RequestChecks.Range(lp, 0, MaxLogprobs, "logprobs");
        var stop = RequestChecks.Stop(request.Stop?.Values, MaxStop, "stop");
        var echo = request.Echo ?? false;
        var cancellationToken = http.RequestAborted;

        var lease = await registry.AcquireAsync(request.Model, cancellationToken);
        try
        {
            var job = new CompletionJob(lease, prompts, n, maxTokens, logprobs, echo, new GenerationOptions
            {
                MaxTokens = Math.Max(1, maxTokens),
                Temperature = temperature,
                TopP = topP,
                Seed = request.Seed,
                Stop = stop,
                LogProbs = logprobs ?? 0,
            });
            if (request.Stream == true)
            {
                var chunks = job.StreamAsync(cancellationToken);
                lease = null; // the stream owns it now
                return TypedResults.ServerSentEvents(chunks);
            }
            return TypedResults.Ok(await job.RunAsync(cancellationToken));
        }
        finally
        {
            lease?.Dispose();
        }
    }

    private static long Unix(DateTime utc) => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToUnixTimeSeconds();

    /// <summary>One completions request: its prompts × n choices.</summary>
    private sealed class CompletionJob(ModelLease lease, IReadOnlyList<string> prompts, int n, int maxTokens, int? logprobs, bool echo, GenerationOptions options)
    {
        private readonly string id = $"cmpl-{Guid.NewGuid():N}";
        private readonly long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        private IServedModel Model => lease.Model;

        public async Task<CompletionResponse> RunAsync(CancellationToken cancellationToken)
        {
            var choices = new List<CompletionChoice>();
            var promptTokens = 0;
            var completionTokens = 0;
            for (var p = 0; p < prompts.Count; p++)
            {
                var echoed = await EchoAsync(prompts[p], cancellationToken);
                promptTokens += echoed.TokenCount;
                var results = new Choice[n];
                for (var i = 0; i < n; i++) results[i] = new(echo ? prompts[p].Length : 0);
                if (maxTokens > 0)
                    await foreach (var (i, step) in Generations.Start(Model, prompts[p], Runs(), cancellationToken).WithCancellation(cancellationToken))
                        results[i].Add(step);
                for (var i = 0; i < n; i++)
                {
                    completionTokens += results[i].Tokens.Count;
                    choices.Add(new CompletionChoice
                    {
                        Index = p * n + i,
                        Text = (echo ? prompts[p] : "") + results[i].Text,
                        Logprobs = logprobs is null ? null : Merge(echo ? echoed.Logprobs : null, results[i].Logprobs()),
                        FinishReason = results[i].FinishReason ?? "length",
                    });
                }
            }
            return new CompletionResponse
            {
                Id = id,
                Created = created,
                Model = lease.Key,
                Choices = choices,
                Usage = new CompletionUsage { PromptTokens = promptTokens, CompletionTokens = completionTokens, TotalTokens = promptTokens + completionTokens },
            };
        }

        public async IAsyncEnumerable<SseItem<string>> StreamAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            using var _ = lease;
            for (var p = 0; p < prompts.Count; p++)
            {
                if (echo)
                {
                    var echoed = await EchoAsync(prompts[p], cancellationToken);
                    for (var i = 0; i < n; i++)
                        yield return Chunk(p * n + i, prompts[p], logprobs is null ? null : echoed.Logprobs, maxTokens == 0 ? "length" : null);
                }
                if (maxTokens == 0) continue;
                var offsets = new int[n];
                if (echo) Array.Fill(offsets, prompts[p].Length);
                await foreach (var (i, step) in Generations.Start(Model, prompts[p], Runs(), cancellationToken).WithCancellation(cancellationToken))
                {
                    var choice = new Choice(offsets[i]);
                    choice.Add(step);
                    offsets[i] += choice.Text.Length;
                    yield return Chunk(p * n + i, choice.Text, logprobs is null ? null : choice.Logprobs(), choice.FinishReason);
                }
            }
            yield return new SseItem<string>("[DONE]");
        }

        private SseItem<string> Chunk(int index, string text, CompletionLogprobs? lp, string? finish) =>
            new(JsonSerializer.Serialize(new CompletionResponse
            {
                Id = id,
                Created = created,
                Model = lease.Key,
                Choices = [new CompletionChoice { Index = index, Text = text, Logprobs = lp, FinishReason = finish }],
            }));

        private List<GenerationOptions> Runs() =>
            Enumerable.Range(0, n).Select(i => options with { Seed = options.Seed is { } s ? s + i : null }).ToList();

        /// <summary>The prompt's token count and, when echoing with logprobs, its scored tokens.</summary>
        private async Task<(int TokenCount, CompletionLogprobs? Logprobs)> EchoAsync(string prompt, CancellationToken cancellationToken)
        {
            if (!(echo && logprobs is not null))
                return ((await Model.TokenizeAsync(prompt, cancellationToken)).Count, null);
            var score = await Model.ScoreAsync(prompt, cancellationToken);
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
                TokenLogprobs = score.Tokens.Select(t => (double?)t.LogProbability).ToList(),
                TopLogprobs = score.Tokens.Select(t => (IReadOnlyDictionary<string, double>?)new Dictionary<string, double> { [t.Token] = t.LogProbability }).ToList(),
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

    /// <summary>One choice: a <see cref="CompletionAccumulator"/> read in OpenAI's terms (text offsets, finish reasons, logprobs).</summary>
    private sealed class Choice(int startOffset)
    {
        private readonly CompletionAccumulator completion = new();
        public IReadOnlyList<Core.Inference.GeneratedToken> Tokens => completion.Tokens;
        public string? FinishReason => completion.Finish is { } f ? (f == Core.Inference.FinishReason.Length ? "length" : "stop") : null;
        public string Text => completion.Text;

        public void Add(GenerationStep step) => completion.Add(step);

        /// <summary>An alternative spelled like the chosen token's text (same leading space), so keys compare with <c>tokens</c>.</summary>
        private static string Spaced(Core.Inference.GeneratedToken chosen, string word) =>
            chosen.Text.Length > chosen.Token.Length && chosen.Text.EndsWith(chosen.Token, StringComparison.Ordinal)
                ? chosen.Text[..^chosen.Token.Length] + word
                : word;

        public CompletionLogprobs Logprobs()
        {
            var offsets = new List<int>();
            var at = startOffset;
            foreach (var t in Tokens)
            {
                offsets.Add(at);
                at += t.Text.Length;
            }
            return new CompletionLogprobs
            {
                Tokens = Tokens.Select(t => t.Text).ToList(),
                TokenLogprobs = Tokens.Select(t => (double?)t.LogProbability).ToList(),
                TopLogprobs = Tokens.Select(t => (IReadOnlyDictionary<string, double>?)t.TopAlternatives
                    .GroupBy(a => Spaced(t, a.Word)).ToDictionary(g => g.Key, g => g.First().LogProbability)).ToList(),
                TextOffset = offsets,
            };
        }
    }
}
