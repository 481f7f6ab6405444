using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Models;
using RnnLmService.Api.Serving;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Inference;
using ApiWordProbability = RnnLmService.Api.Contracts.WordProbability;
using ApiGeneratedToken = RnnLmService.Api.Contracts.GeneratedToken;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Endpoints;

/// <summary><c>/api/models/{model}/next-word</c>, <c>/generate</c> and <c>/score</c>.</summary>
public static class InferenceApi
{
    /// <summary>Maps the inference endpoints.</summary>
    public static IEndpointRouteBuilder MapInferenceApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/models/{model}").WithTags("Inference").RequireApiRole(ApiKeyRoles.Read).WithInferenceLimits()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapPost("/next-word", NextWord)
            .WithName("NextWord")
            .WithSummary("Most likely next words after a context")
            .WithDescription("Returns the topK most likely next words with probability and log-probability, the probabilities of "
                + "optional candidate words, the entropy of the distribution and the context words unknown to the vocabulary. "
                + "{model} is name (its promoted, else newest, version) or name@version. Concurrent requests are batched.");
        group.MapPost("/generate", Generate)
            .WithName("Generate")
            .WithSummary("Continue a prompt")
            .WithDescription("Samples n continuations (temperature, topK, topP, repetition penalty, seed, stop strings). With "
                + "\"stream\": true or Accept: text/event-stream the tokens arrive as Server-Sent Events (event: token, data: "
                + "GenerateTokenEvent) and a final event: done carries the GenerateResponse; closing the connection stops generation.")
            .Produces<GenerateResponse>(StatusCodes.Status200OK)
            .Produces<GenerateTokenEvent>(StatusCodes.Status200OK, "text/event-stream");
        group.MapPost("/score", Score)
            .WithName("Score")
            .WithSummary("Log-probability of each token of a text")
            .WithDescription("Returns, for every token given the ones before it (the text starts at a line start), its log-probability, "
                + "surprisal in bits, rank in the prediction, the prediction's entropy in bits, whether the vocabulary knows it and, with "
                + "topK, the topK most likely alternatives; and the total and the perplexity. Concurrent requests are batched.");
        return app;
    }

    private static async Task<Ok<NextWordResponse>> NextWord(string model, NextWordRequest request, ModelRegistry registry,
        IOptions<RnnLmOptions> options, CancellationToken cancellationToken)
    {
        var candidates = request.Candidates ?? [];
        var (context, keepAlive) = ("", default(TimeSpan?));
        SettingErrors.Collect(() => // every failed check in one answer
        {
            context = RequestChecks.Text(request.Context, "context", options.Value.Serving.MaxPromptCharacters);
            InvalidSettingException.Check(candidates.Count <= 100, "candidates", "candidates takes at most 100 words.");
            InvalidSettingException.Check(candidates.All(c => !string.IsNullOrWhiteSpace(c)), "candidates", "candidate words must not be empty.");
            keepAlive = RequestChecks.KeepAlive(request.KeepAlive);
        });

        // topK and the context's words are checked by the engine (LanguageModel.Encode) before the request is queued.
        using var lease = await registry.AcquireAsync(model, cancellationToken, keepAlive: keepAlive);
        var result = await lease.Model.NextWordAsync(new NextWordQuery(context, request.TopK, candidates), cancellationToken);
        return TypedResults.Ok(new NextWordResponse
        {
            Model = lease.Key,
            Words = result.Top.Select(w => new ApiWordProbability { Word = w.Word, Probability = w.Probability, LogProbability = w.LogProbability }).ToList(),
            Candidates = result.Candidates.Select(c => new CandidateProbability { Word = c.Word, Known = c.InVocabulary, Probability = c.Probability, LogProbability = c.LogProbability }).ToList(),
            Entropy = result.Entropy,
            UnknownContextWords = result.UnknownWords,
            Completion = result.Completion,
        });
    }

    private static async Task<Ok<ScoreResponse>> Score(string model, ScoreRequest request, ModelRegistry registry,
        IOptions<RnnLmOptions> options, CancellationToken cancellationToken)
    {
        var (text, keepAlive) = ("", default(TimeSpan?));
        SettingErrors.Collect(() =>
        {
            text = RequestChecks.Text(request.Text, "text", options.Value.Serving.MaxPromptCharacters);
            keepAlive = RequestChecks.KeepAlive(request.KeepAlive);
        });
        using var lease = await registry.AcquireAsync(model, cancellationToken, keepAlive: keepAlive);
        var result = await lease.Model.ScoreAsync(new ScoreQuery(text, request.TopK), cancellationToken);
        return TypedResults.Ok(new ScoreResponse
        {
            Model = lease.Key,
            Tokens = result.Tokens.Select(t => new ScoredToken
            {
                Token = t.Token,
                LogProbability = t.LogProbability,
                SurprisalBits = -t.LogProbability / Math.Log(2),
                Rank = t.Rank,
                EntropyBits = t.Entropy / Math.Log(2),
                Alternatives = (t.Alternatives ?? []).Select(a => new ApiWordProbability { Word = a.Word, Probability = a.Probability, LogProbability = a.LogProbability }).ToList(),
                InVocabulary = t.Known,
            }).ToList(),
            TotalLogProbability = result.TotalLogProbability,
            Perplexity = result.Perplexity,
        });
    }

    private static async Task<IResult> Generate(string model, GenerateRequest request, HttpContext http, ModelRegistry registry,
        IOptions<RnnLmOptions> options, IOptions<JsonOptions> json)
    {
        var serving = options.Value.Serving;
        var (prompt, keepAlive) = ("", default(TimeSpan?));
        var runs = Enumerable.Range(0, Math.Clamp(request.N, 1, serving.MaxCompletions)).Select(i => new GenerationOptions
        {
            MaxTokens = request.MaxTokens,
            Temperature = request.Temperature,
            TopK = request.TopK ?? 0,
            TopP = request.TopP,
            RepetitionPenalty = request.RepetitionPenalty,
            Seed = request.Seed is { } seed ? seed + i : null,
            Stop = request.Stop ?? [],
            StopAtEos = !request.IgnoreEos,
        }).ToList();
        SettingErrors.Collect(() => // every failed check in one answer
        {
            prompt = RequestChecks.Text(request.Prompt, "prompt", serving.MaxPromptCharacters);
            RequestChecks.Range(request.N, 1, serving.MaxCompletions, "n", "RnnLm:Serving:MaxCompletions");
            // The API's topK is "1.. or omitted" (the engine's 0 means off); every other limit is GenerationOptions.Validate's.
            if (request.TopK is { } k) InvalidSettingException.Check(k >= 1, "topK", $"topK must be at least 1 (was {k}).");
            runs[0].Validate(int.MaxValue, serving.MaxNewTokens);
            keepAlive = RequestChecks.KeepAlive(request.KeepAlive);
        });
        var cancellationToken = http.RequestAborted;

        var lease = await registry.AcquireAsync(model, cancellationToken, keepAlive: keepAlive);
        try
        {
            runs[0].Validate(lease.Model.VocabularySize, serving.MaxNewTokens);

            var promptTokens = (await lease.Model.TokenizeAsync(prompt, cancellationToken)).Count;
            var steps = Generations.Start(lease.Model, prompt, runs, cancellationToken);
            var wantsStream = request.Stream || http.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);
            if (wantsStream)
            {
                var events = StreamEvents(http, lease, steps, request.N, promptTokens, json.Value.SerializerOptions, cancellationToken);
                lease = null; // the stream owns it now
                return TypedResults.ServerSentEvents(events);
            }
            var completions = CompletionAccumulator.For(request.N);
            await foreach (var (index, step) in steps.WithCancellation(cancellationToken))
                completions[index].Add(step);
            return TypedResults.Ok(Response(lease.Key, completions, promptTokens));
        }
        finally
        {
            lease?.Dispose();
        }
    }

    private static async IAsyncEnumerable<SseItem<string>> StreamEvents(HttpContext http, ModelLease lease, IAsyncEnumerable<(int Index, GenerationStep Step)> steps,
        int n, int promptTokens, JsonSerializerOptions json, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = lease;
        var completions = CompletionAccumulator.For(n);
        var failure = default(Exception);
        await using var e = steps.WithCancellation(cancellationToken).GetAsyncEnumerator();
        while (true)
        {
            try
            {
                if (!await e.MoveNextAsync()) break;
            }
            catch (Exception error) when (!cancellationToken.IsCancellationRequested)
            {
                failure = error;
                break;
            }
            var (index, step) = e.Current;
            completions[index].Add(step);
            // The end-of-line token that ends a completion is no token of its text: the done event's finishReason says so.
            if (step.Token is { } token && !CompletionAccumulator.IsClosingEndOfLine(step))
                yield return new SseItem<string>(JsonSerializer.Serialize(new GenerateTokenEvent
                {
                    Index = index,
                    Text = token.Text,
                    LogProbability = token.LogProbability,
                    FinishReason = step.Finish is { } f ? Generations.Name(f) : null,
                }, json), "token");
        }
        if (failure is not null)
        {
            // The same fields as every other problem (type, title, status, detail, instance, code, traceId).
            var problem = ProblemShape.Complete(ApiExceptionHandler.Map(failure), http);
            yield return new SseItem<string>(JsonSerializer.Serialize(problem, json), "error");
            yield break;
        }
        yield return new SseItem<string>(JsonSerializer.Serialize(Response(lease.Key, completions, promptTokens), json), "done");
    }

    private static GenerateResponse Response(string model, CompletionAccumulator[] completions, int promptTokens) => new()
    {
        Model = model,
        Completions = completions.Select((c, i) => new GeneratedCompletion
        {
            Index = i,
            Text = c.Text,
            Tokens = c.Tokens.Select(t => new ApiGeneratedToken { Text = t.Text, LogProbability = t.LogProbability }).ToList(),
            FinishReason = c.Finish is { } f ? Generations.Name(f) : "length",
        }).ToList(),
        Usage = new TokenUsage { PromptTokens = promptTokens, CompletionTokens = completions.Sum(c => c.Tokens.Count) },
    };
}
