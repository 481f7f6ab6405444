using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Models;
using RnnLmService.Api.Serving;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Endpoints;

/// <summary><c>/api/models/{model}/explain</c>, <c>/activations</c>, <c>/neighbours</c> and <c>/vocabulary</c>.</summary>
public static class InterpretabilityApi
{
    private const int MaxVocabularyPage = 10000;

    private static readonly IReadOnlyList<AttributionMethod> Methods =
    [
        new() { Name = "occlusion", Description = "log p(target | context) minus log p(target | context with the token replaced by <unk>), each occluded context run through the model" },
        new() { Name = "gradientTimesInput", Description = "gradient of log p(target) with respect to the token's input embedding, dotted with that embedding (eval mode, no dropout)" },
    ];

    /// <summary>Maps the interpretability endpoints.</summary>
    public static IEndpointRouteBuilder MapInterpretabilityApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/models/{model}").WithTags("Interpretability").RequireApiRole(ApiKeyRoles.Read)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapPost("/explain", Explain)
            .WithName("Explain")
            .WithSummary("Why the model predicts a word")
            .WithDescription("For a context and a target word (default: the top prediction), each context token's contribution to the "
                + "target's log-probability by two named methods: occlusion (replace the token by <unk> and run again) and gradient × input "
                + "on the embeddings. At most 200 context tokens. Runs on the model's scheduler like the other inference calls.");
        group.MapPost("/activations", Activations)
            .WithName("Activations")
            .WithSummary("What the recurrent units do over a text")
            .WithDescription("Per token of the text, the hidden (and for an LSTM, cell) values of the chosen units of one layer (default: "
                + "the last layer's 8 most varying units), the mean gate activations of every layer, and the layer's units that vary most "
                + "over the text. Gates and lower layers are recomputed from the weights (the fused RNN returns neither). At most 1000 tokens.");
        group.MapGet("/neighbours", Neighbours)
            .WithName("Neighbours")
            .WithSummary("Words with the closest input embeddings")
            .WithDescription("The k (1 to 100, default 10) words whose input embeddings have the highest cosine similarity with word's. "
                + "A word the vocabulary does not know is a 400 naming 'word'.");
        group.MapGet("/vocabulary", Vocabulary)
            .WithName("Vocabulary")
            .WithSummary("The model's vocabulary, paged")
            .WithDescription("Tokens in id order from offset (default 0), at most limit (1 to 10000, default 100), each with its count in "
                + "the training text and its frequency rank (ids 2 and up are in order of training frequency). Models saved before counts "
                + "were kept answer countsStored: false and count null.");
        return app;
    }

    private static async Task<Ok<ExplainResponse>> Explain(string model, ExplainRequest request, ModelRegistry registry,
        IOptions<RnnLmOptions> options, CancellationToken cancellationToken)
    {
        var context = RequestChecks.Text(request.Context, "context", options.Value.Serving.MaxPromptCharacters);
        InvalidSettingException.Check(request.Target is null || !string.IsNullOrWhiteSpace(request.Target), "target", "target must not be empty (omit it to explain the top prediction).");
        using var lease = await registry.AcquireAsync(model, cancellationToken);
        var result = await lease.Model.RunAsync(InterpretabilityOperations.Explain, (context, request.Target), cancellationToken);
        return TypedResults.Ok(new ExplainResponse
        {
            Model = lease.Key,
            Target = result.Target,
            TargetWasPredicted = result.TargetWasPredicted,
            TargetProbability = Math.Exp(result.TargetLogProbability),
            TargetLogProbability = result.TargetLogProbability,
            Methods = Methods,
            Tokens = result.Tokens.Select(t => new TokenAttribution
            {
                Token = t.Token, InVocabulary = t.InVocabulary, Occlusion = t.Occlusion, GradientTimesInput = t.GradientTimesInput,
            }).ToList(),
        });
    }

    private static async Task<Ok<ActivationsResponse>> Activations(string model, ActivationsRequest request, ModelRegistry registry,
        IOptions<RnnLmOptions> options, CancellationToken cancellationToken)
    {
        var text = RequestChecks.Text(request.Text, "text", options.Value.Serving.MaxPromptCharacters);
        using var lease = await registry.AcquireAsync(model, cancellationToken);
        var trace = await lease.Model.RunAsync(InterpretabilityOperations.Activations,
            new ActivationQuery(text, request.Layer, request.Units, request.Top), cancellationToken);
        var architecture = lease.Model.Manifest.Architecture;
        return TypedResults.Ok(new ActivationsResponse
        {
            Model = lease.Key,
            CellType = JsonNamingPolicy.CamelCase.ConvertName(architecture.CellType.ToString()),
            Layers = architecture.Layers,
            HiddenSize = architecture.HiddenSize,
            Layer = trace.Layer,
            Tokens = trace.Tokens,
            Units = trace.Units.Select(u => new UnitActivations { Unit = u.Unit, Hidden = u.Hidden, Cell = u.Cell }).ToList(),
            Gates = trace.GateMeans.Select((g, i) => new LayerGates { Layer = i, Means = g }).ToList(),
            MostVarying = trace.MostVarying.Select(v => new UnitVariationInfo { Unit = v.Unit, StandardDeviation = v.StandardDeviation, Mean = v.Mean }).ToList(),
        });
    }

    private static async Task<Ok<NeighboursResponse>> Neighbours(string model, string? word, string? k, ModelRegistry registry, CancellationToken cancellationToken)
    {
        InvalidSettingException.Check(!string.IsNullOrWhiteSpace(word), "word", "word is required (?word=...).");
        var count = QueryInt(k, "k", 10);
        RequestChecks.Range(count, 1, Explainer.MaxNeighbours, "k");
        using var lease = await registry.AcquireAsync(model, cancellationToken);
        var neighbours = await lease.Model.RunAsync(InterpretabilityOperations.Neighbours, (word!.Trim(), count), cancellationToken);
        return TypedResults.Ok(new NeighboursResponse
        {
            Model = lease.Key,
            Word = word.Trim(),
            Neighbours = neighbours.Select(n => new Neighbour { Word = n.Word, Id = n.Id, Cosine = n.Cosine }).ToList(),
        });
    }

    private static async Task<Ok<VocabularyResponse>> Vocabulary(string model, string? offset, string? limit, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var from = QueryInt(offset, "offset", 0);
        var size = QueryInt(limit, "limit", 100);
        InvalidSettingException.Check(from >= 0, "offset", $"offset must be 0 or more (was {from}).");
        RequestChecks.Range(size, 1, MaxVocabularyPage, "limit");
        using var lease = await registry.AcquireAsync(model, cancellationToken);
        var (total, tokens, counts) = await lease.Model.RunAsync(InterpretabilityOperations.Vocabulary, (from, size), cancellationToken);
        return TypedResults.Ok(new VocabularyResponse
        {
            Model = lease.Key,
            Total = total,
            Offset = from,
            Limit = size,
            CountsStored = counts is not null,
            Items = tokens.Select((t, i) => new VocabularyEntry
            {
                Id = from + i, Token = t, Special = from + i < 2, FrequencyRank = from + i < 2 ? null : from + i - 1,
                Count = from + i < 2 ? null : counts?[i],
            }).ToList(),
        });
    }

    /// <summary>An optional integer query parameter, parsed here so that a bad one is a 400 naming it.</summary>
    private static int QueryInt(string? value, string field, int fallback)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        InvalidSettingException.Check(int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed), field,
            $"{field} must be a whole number (was '{value}').");
        return parsed;
    }
}
