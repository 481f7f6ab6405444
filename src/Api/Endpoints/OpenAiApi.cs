using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Hosting;
using RnnLmService.Api.Models;
using RnnLmService.Api.Security;
using RnnLmService.Api.Serving;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Endpoints;

/// <summary>
/// The OpenAI-compatible subset: <c>GET /v1/models</c>, <c>GET /v1/models/{id}</c>, <c>POST /v1/completions</c> and
/// <c>POST /v1/chat/completions</c>, so stock OpenAI client libraries work against <c>{base}/v1</c>. Errors here use
/// OpenAI's error shape (see <see cref="OpenAiErrorWriter"/>).
/// </summary>
public static class OpenAiApi
{
    private const int MaxLogprobs = 5;

    /// <summary>Maps <c>/v1</c>.</summary>
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("OpenAI-compatible").RequireApiRole(ApiKeyRoles.Read).WithInferenceLimits();
        group.MapGet("/models", ListModels)
            .WithName("OpenAiListModels")
            .WithSummary("List models (OpenAI shape)")
            .WithDescription("Every addressable model: each name (its promoted, else newest, version) and each name@version.");
        group.MapGet("/models/{id}", GetModel)
            .WithName("OpenAiGetModel")
            .WithSummary("One model (OpenAI shape)")
            .WithDescription("{id} is a name (its promoted, else newest, version) or name@version, as GET /v1/models lists them; 404 model_not_found otherwise.")
            .ProducesOpenAiErrors(404);
        group.MapPost("/completions", Complete)
            .WithName("OpenAiCompletions")
            .WithSummary("Create a completion (OpenAI legacy completions)")
            .WithDescription("model, prompt (string or list), max_tokens (or max_completion_tokens), temperature, top_p, n, best_of, stop, seed, "
                + "logit_bias, presence_penalty, frequency_penalty, stream (data: chunks ending with data: [DONE]; stream_options.include_usage "
                + "adds a usage chunk), logprobs (the token's log-probability and the logprobs most likely tokens at each position, the echoed "
                + "prompt's too; its first token's are null, as OpenAI answers), echo. max_tokens 0 with echo and logprobs scores the prompt. "
                + "suffix is not supported (400). Errors: {\"error\": {message, type, param, code}}.")
            .WithDocumentedBody(typeof(CompletionRequest), jsonExample: """
                {"model": "starter", "prompt": "the old farmer", "max_tokens": 12, "temperature": 0.8, "seed": 1, "logprobs": 2,
                 "logit_bias": {"1": -100}, "frequency_penalty": 0.5}
                """)
            .Produces<CompletionResponse>(StatusCodes.Status200OK)
            .Produces<CompletionResponse>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesOpenAiErrors(400, 404, 413, 503);
        group.MapPost("/chat/completions", Chat)
            .WithName("OpenAiChatCompletions")
            .WithSummary("Create a chat completion (OpenAI chat completions)")
            .WithDescription("These models are not chat-tuned: the messages are rendered as plain text, each message's content on its own "
                + "line(s) in order, roles not written, ending with a line break; the reply is the model's next line (finish_reason stop "
                + "when it ends the line or meets a stop string, length at max_tokens). model, messages, max_tokens (or max_completion_tokens; "
                + "default RnnLm:Serving:MaxNewTokens), temperature, top_p, n, stop, seed, logit_bias, presence_penalty, frequency_penalty, "
                + "logprobs with top_logprobs, stream (chat.completion.chunk events ending with data: [DONE]) and stream_options.include_usage.")
            .WithDocumentedBody(typeof(ChatCompletionRequest), jsonExample: """
                {"model": "starter", "messages": [{"role": "system", "content": "the old farmer lived on a hill ."},
                 {"role": "user", "content": "what did the farmer find ?"}], "max_tokens": 20, "temperature": 0.7, "seed": 1}
                """)
            .Produces<ChatCompletionResponse>(StatusCodes.Status200OK)
            .Produces<ChatCompletionChunk>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesOpenAiErrors(400, 404, 413, 503);
        return app;
    }

    /// <summary>Declares OpenAI-shaped errors (401, 403 and 429 are added by <see cref="OpenApiSecurityDocs"/>).</summary>
    internal static RouteHandlerBuilder ProducesOpenAiErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
            builder.Produces<OpenAiErrorResponse>(status);
        return builder;
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

    private static async Task<Ok<OpenAiModel>> GetModel(string id, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var catalog = await registry.RefreshAsync(cancellationToken);
        var record = catalog.Resolve(id, "model") ?? throw new NotFoundException($"There is no model '{id}'. GET /v1/models lists the models.", "model", "model_not_found");
        return TypedResults.Ok(new OpenAiModel { Id = id, Created = Unix(record.CreatedAt) });
    }

    private static async Task<IResult> Complete(CompletionRequest request, HttpContext http, ModelRegistry registry, IOptions<RnnLmOptions> options)
    {
        var serving = options.Value.Serving;
        var prompts = request.Prompt?.Values ?? throw new InvalidSettingException("prompt", "prompt is required.");
        InvalidSettingException.Check(prompts.Count is >= 1, "prompt", "prompt must be a string or a non-empty list of strings.");
        RequestChecks.Range(prompts.Count, 1, serving.MaxBatchSize, "prompt", "at most RnnLm:Serving:MaxBatchSize prompts");
        foreach (var p in prompts) RequestChecks.Text(p, "prompt", serving.MaxPromptCharacters);
        InvalidSettingException.Check(string.IsNullOrEmpty(request.Suffix), "suffix",
            "suffix is not supported: these models only continue text (no fill-in-the-middle). Leave it out.");
        if (request.Logprobs is { } lp) RequestChecks.Range(lp, 0, MaxLogprobs, "logprobs");
        var sampling = OpenAiParameters.Read(request, serving, request.Logprobs ?? 0, defaultMaxTokens: 16, minTokens: 0);
        var bestOf = request.BestOf ?? sampling.N;
        RequestChecks.Range(bestOf, sampling.N, serving.MaxCompletions, "best_of", "n to RnnLm:Serving:MaxCompletions");
        InvalidSettingException.Check(!sampling.Stream || bestOf == sampling.N, "best_of", "best_of cannot be used with stream (choices are chosen after all are generated).");
        var plan = new CompletionPlan(sampling.N, bestOf, sampling.MaxTokens, request.Logprobs, request.Echo ?? false, sampling.IncludeUsage, sampling.Options);

        return await RunJobAsync(registry, request.Model, plan.Options, sampling.Stream, lease => new CompletionJob(lease, prompts, plan), http.RequestAborted);
    }

    private static async Task<IResult> Chat(ChatCompletionRequest request, HttpContext http, ModelRegistry registry, IOptions<RnnLmOptions> options)
    {
        var serving = options.Value.Serving;
        var prompt = ChatTemplate.Render(request.Messages, serving.MaxPromptCharacters);
        var logprobs = request.Logprobs == true;
        var top = request.TopLogprobs ?? 0;
        RequestChecks.Range(top, 0, Core.Inference.GenerationOptions.MaxLogProbs, "top_logprobs");
        InvalidSettingException.Check(logprobs || request.TopLogprobs is null, "top_logprobs", "top_logprobs needs \"logprobs\": true.");
        var sampling = OpenAiParameters.Read(request, serving, top, defaultMaxTokens: serving.MaxNewTokens, minTokens: 1);

        return await RunJobAsync(registry, request.Model, sampling.Options, sampling.Stream,
            lease => new ChatJob(lease, prompt, sampling.N, logprobs, sampling.IncludeUsage, sampling.Options), http.RequestAborted);
    }

    /// <summary>
    /// Leases the model, checks <c>logit_bias</c> against its vocabulary and runs the job: as Server-Sent Events (the stream then
    /// owns the lease and releases it when it ends) or as one answer.
    /// </summary>
    private static async Task<IResult> RunJobAsync<TResponse>(ModelRegistry registry, string? model, Core.Inference.GenerationOptions options, bool stream,
        Func<ModelLease, IOpenAiJob<TResponse>> create, CancellationToken cancellationToken)
    {
        var lease = await registry.AcquireAsync(model, cancellationToken);
        try
        {
            OpenAiParameters.CheckLogitBias(options, lease.Model.VocabularySize, lease.Key);
            var job = create(lease);
            if (stream)
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
}
