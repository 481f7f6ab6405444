using System.Globalization;
using RnnLmService.Api.Contracts;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Inference;

namespace RnnLmService.Api.Endpoints;

/// <summary>The checked sampling fields of an OpenAI request: how many tokens and choices, streaming, and the generation options.</summary>
/// <param name="MaxTokens">Most tokens per choice (0 only where the endpoint allows it).</param>
/// <param name="N">Choices per prompt.</param>
/// <param name="Stream">Whether to stream chunks.</param>
/// <param name="IncludeUsage">Whether a streamed answer ends with a usage chunk.</param>
/// <param name="Options">The generation options (MaxTokens at least 1; the seed of choice 0).</param>
internal sealed record OpenAiSampling(int MaxTokens, int N, bool Stream, bool IncludeUsage, GenerationOptions Options);

/// <summary>Reads the fields completions and chat completions share; each failure is a 400 naming the field as OpenAI spells it.</summary>
internal static class OpenAiParameters
{
    /// <summary>Most stop strings (OpenAI's limit).</summary>
    public const int MaxStop = 4;

    /// <summary>Checks <paramref name="request"/>; <paramref name="logprobs"/> alternatives per token, <paramref name="minTokens"/> the least max_tokens.</summary>
    public static OpenAiSampling Read(OpenAiSamplingRequest request, ServingOptions serving, int logprobs, int defaultMaxTokens, int minTokens)
    {
        InvalidSettingException.Check(request.MaxTokens is null || request.MaxCompletionTokens is null || request.MaxTokens == request.MaxCompletionTokens,
            "max_tokens", $"max_tokens ({request.MaxTokens}) and max_completion_tokens ({request.MaxCompletionTokens}) are the same setting; send one.");
        var field = request.MaxTokens is null && request.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens";
        var maxTokens = request.MaxTokens ?? request.MaxCompletionTokens ?? defaultMaxTokens;
        RequestChecks.Range(maxTokens, minTokens, serving.MaxNewTokens, field, "RnnLm:Serving:MaxNewTokens");
        var n = request.N ?? 1;
        RequestChecks.Range(n, 1, serving.MaxCompletions, "n", "RnnLm:Serving:MaxCompletions");
        var temperature = request.Temperature ?? 1.0;
        RequestChecks.Range(temperature, 0, 2, "temperature");
        var topP = request.TopP ?? 1.0;
        RequestChecks.TopP(topP, "top_p");
        var presence = request.PresencePenalty ?? 0;
        RequestChecks.Range(presence, -GenerationOptions.MaxPenalty, GenerationOptions.MaxPenalty, "presence_penalty");
        var frequency = request.FrequencyPenalty ?? 0;
        RequestChecks.Range(frequency, -GenerationOptions.MaxPenalty, GenerationOptions.MaxPenalty, "frequency_penalty");
        var stop = RequestChecks.Stop(request.Stop?.Values, MaxStop, "stop");
        var stream = request.Stream == true;
        InvalidSettingException.Check(request.StreamOptions is null || stream, "stream_options", "stream_options is only allowed with \"stream\": true.");
        return new OpenAiSampling(maxTokens, n, stream, request.StreamOptions?.IncludeUsage == true, new GenerationOptions
        {
            MaxTokens = Math.Max(1, maxTokens),
            Temperature = temperature,
            TopP = topP,
            Seed = request.Seed,
            Stop = stop,
            LogProbs = logprobs,
            PresencePenalty = presence,
            FrequencyPenalty = frequency,
            LogitBias = LogitBias(request.LogitBias),
        });
    }

    /// <summary>
    /// OpenAI's <c>logit_bias</c>: token ids written as strings, each mapped to a bias in [-100, 100]. The ids are
    /// checked against the model by <see cref="CheckLogitBias"/> once the model is known.
    /// </summary>
    private static Dictionary<int, double> LogitBias(Dictionary<string, double>? bias)
    {
        var result = new Dictionary<int, double>();
        if (bias is null) return result;
        InvalidSettingException.Check(bias.Count <= GenerationOptions.MaxLogitBiasTokens, "logit_bias",
            $"logit_bias names at most {GenerationOptions.MaxLogitBiasTokens} tokens (got {bias.Count}).");
        foreach (var (key, value) in bias)
        {
            InvalidSettingException.Check(int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id), "logit_bias",
                $"logit_bias keys are token ids written as strings (POST /tokenize shows a text's ids); \"{Shorten(key)}\" is not one.");
            InvalidSettingException.Check(double.IsFinite(value) && Math.Abs(value) <= GenerationOptions.MaxLogitBias, "logit_bias",
                $"logit_bias for token {id} must be between -{GenerationOptions.MaxLogitBias} and {GenerationOptions.MaxLogitBias} (was {value}).");
            result[id] = value;
        }
        return result;
    }

    /// <summary>Every biased id must be one of the model's (0 to vocabulary size - 1).</summary>
    public static void CheckLogitBias(GenerationOptions options, int vocabularySize, string model)
    {
        foreach (var id in options.LogitBias.Keys)
            InvalidSettingException.Check(id < vocabularySize, "logit_bias",
                $"logit_bias names token id {id}, but {model} has ids 0 to {vocabularySize - 1}.");
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
