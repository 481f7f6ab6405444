using System.Text;
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
using RnnLmService.Core.Storage.Keys;
using RnnLmService.Core.Text;

namespace RnnLmService.Api.Endpoints;

/// <summary>
/// vLLM's <c>POST /tokenize</c> and <c>POST /detokenize</c>, at the server root where vLLM serves them (so tools written
/// for vLLM find them), answering errors in OpenAI's shape as vLLM does. The ids are the ones <c>logit_bias</c> takes.
/// </summary>
public static class TokenizeApi
{
    /// <summary>Routes that answer in OpenAI's error shape though they are not under <c>/v1</c>.</summary>
    public static readonly string[] Paths = ["/tokenize", "/detokenize"];

    /// <summary>Maps both routes.</summary>
    public static IEndpointRouteBuilder MapTokenizeApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags("OpenAI-compatible").RequireApiRole(ApiKeyRoles.Read).WithInferenceLimits();
        group.MapPost("/tokenize", Tokenize)
            .WithName("Tokenize")
            .WithSummary("Token ids of a text (vLLM's /tokenize)")
            .WithDescription("prompt, or messages rendered as /v1/chat/completions renders them; the ids are the model's vocabulary ids "
                + "(unknown words as <unk>, 0; each line break as <eos>, 1), the ones logit_bias takes. count equals usage.prompt_tokens "
                + "for the same text. return_token_strs adds the tokens' strings.")
            .WithDocumentedBody(typeof(TokenizeRequest), jsonExample: """{"model": "starter", "prompt": "the old farmer ran home .", "return_token_strs": true}""")
            .ProducesOpenAiErrors(400, 404, 503);
        group.MapPost("/detokenize", Detokenize)
            .WithName("Detokenize")
            .WithSummary("Text of token ids (vLLM's /detokenize)")
            .WithDescription("Word-level tokens are joined by spaces, characters as they are; <eos> becomes a line break. An id outside the "
                + "model's vocabulary is a 400 naming tokens.")
            .WithDocumentedBody(typeof(DetokenizeRequest), jsonExample: """{"model": "starter", "tokens": [2, 14, 37]}""")
            .ProducesOpenAiErrors(400, 404, 503);
        return app;
    }

    private static async Task<Ok<TokenizeResponse>> Tokenize(TokenizeRequest request, ModelRegistry registry, IOptions<RnnLmOptions> options, CancellationToken cancellationToken)
    {
        var serving = options.Value.Serving;
        InvalidSettingException.Check(request.Prompt is null != request.Messages is null, "prompt", "send either prompt or messages.");
        var text = request.Prompt is { } prompt
            ? CheckLength(prompt, serving.MaxPromptCharacters)
            : ChatTemplate.Render(request.Messages, serving.MaxPromptCharacters);
        using var lease = await registry.AcquireAsync(request.Model, cancellationToken);
        var tokens = await lease.Model.TokenizeAsync(text, cancellationToken);
        var vocabulary = lease.Model.Vocabulary;
        return TypedResults.Ok(new TokenizeResponse
        {
            Count = tokens.Count,
            MaxModelLen = serving.MaxPromptCharacters,
            Tokens = tokens.Select(vocabulary.IdOf).ToList(),
            TokenStrs = request.ReturnTokenStrs == true ? tokens : null,
        });
    }

    private static async Task<Ok<DetokenizeResponse>> Detokenize(DetokenizeRequest request, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var ids = request.Tokens ?? throw new InvalidSettingException("tokens", "tokens is required: a list of token ids.");
        using var lease = await registry.AcquireAsync(request.Model, cancellationToken);
        var vocabulary = lease.Model.Vocabulary;
        var wordLevel = lease.Model.Manifest.Tokenizer.Kind == TokenizerKind.Word;
        var text = new StringBuilder();
        var lineStart = true;
        for (var i = 0; i < ids.Count; i++)
        {
            InvalidSettingException.Check(ids[i] >= 0 && ids[i] < vocabulary.Count, "tokens",
                $"tokens[{i}] is {ids[i]}, but {lease.Key} has ids 0 to {vocabulary.Count - 1}.");
            var id = (int)ids[i];
            if (id == vocabulary.EosId)
            {
                text.Append('\n');
                lineStart = true;
                continue;
            }
            if (wordLevel && !lineStart) text.Append(' ');
            text.Append(vocabulary[id]);
            lineStart = false;
        }
        return TypedResults.Ok(new DetokenizeResponse { Prompt = text.ToString() });
    }

    private static string CheckLength(string prompt, int maxCharacters)
    {
        InvalidSettingException.Check(prompt.Length <= maxCharacters, "prompt",
            $"prompt has {prompt.Length} characters; the limit is {maxCharacters} (RnnLm:Serving:MaxPromptCharacters).");
        return prompt;
    }
}
