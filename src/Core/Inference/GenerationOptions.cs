namespace RnnLmService.Core.Inference;

/// <summary>How to sample a continuation.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most stop strings.</summary>
    public const int MaxStopStrings = 16;
    /// <summary>Longest stop string, in characters.</summary>
    public const int MaxStopLength = 200;
    /// <summary>Highest temperature.</summary>
    public const double MaxTemperature = 100;
    /// <summary>Highest repetition penalty.</summary>
    public const double MaxRepetitionPenalty = 10;
    /// <summary>Most top alternatives per token.</summary>
    public const int MaxLogProbs = 20;
    /// <summary>Largest presence or frequency penalty, either sign (OpenAI's range).</summary>
    public const double MaxPenalty = 2;
    /// <summary>Largest logit bias, either sign (OpenAI's range: ±100 bans or forces a token).</summary>
    public const double MaxLogitBias = 100;
    /// <summary>Most tokens a logit bias may name.</summary>
    public const int MaxLogitBiasTokens = 300;

    /// <summary>Most tokens to produce (1..100000).</summary>
    public int MaxTokens { get; init; } = 50;
    /// <summary>Softmax temperature; 0 is greedy. [0, 100].</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Sample among the k most probable tokens only; 0 turns it off.</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus sampling: the smallest set of tokens with this much probability, in (0, 1].</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Divides the logits of tokens already seen (prompt and output), ≥ 1; 1 turns it off. [1, 10].</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>Seed of the sampler: the same seed gives the same text.</summary>
    public long? Seed { get; init; }
    /// <summary>Strings that end the generation (not included in the text).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>End at the end-of-line token.</summary>
    public bool StopAtEos { get; init; } = true;
    /// <summary>How many top alternatives to report per token (0..20).</summary>
    public int LogProbs { get; init; }
    /// <summary>Added to a token's logit at every step, by token id, in [-100, 100] (OpenAI's <c>logit_bias</c>).</summary>
    public IReadOnlyDictionary<int, double> LogitBias { get; init; } = new Dictionary<int, double>();
    /// <summary>Subtracted once from the logit of every token already generated, in [-2, 2] (OpenAI's <c>presence_penalty</c>).</summary>
    public double PresencePenalty { get; init; }
    /// <summary>Subtracted from a token's logit per time it was generated, in [-2, 2] (OpenAI's <c>frequency_penalty</c>).</summary>
    public double FrequencyPenalty { get; init; }

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first field out of range.</summary>
    public void Validate(int vocabularySize, int maxTokensLimit = 100_000)
    {
        InvalidSettingException.Check(MaxTokens >= 1 && MaxTokens <= maxTokensLimit, "maxTokens", $"maxTokens must be between 1 and {maxTokensLimit} (was {MaxTokens}).");
        InvalidSettingException.Check(!double.IsNaN(Temperature) && Temperature is >= 0 and <= MaxTemperature, "temperature", $"temperature must be between 0 and {MaxTemperature} (was {Temperature}).");
        InvalidSettingException.Check(TopK >= 0 && TopK <= vocabularySize, "topK", $"topK must be between 0 (off) and the vocabulary size {vocabularySize} (was {TopK}).");
        InvalidSettingException.Check(!double.IsNaN(TopP) && TopP > 0 && TopP <= 1, "topP", $"topP must be above 0 and at most 1 (was {TopP}).");
        InvalidSettingException.Check(!double.IsNaN(RepetitionPenalty) && RepetitionPenalty is >= 1 and <= MaxRepetitionPenalty, "repetitionPenalty", $"repetitionPenalty must be between 1 and {MaxRepetitionPenalty} (was {RepetitionPenalty}).");
        InvalidSettingException.Check(Stop.Count <= MaxStopStrings && Stop.All(s => !string.IsNullOrEmpty(s) && s.Length <= MaxStopLength), "stop", $"stop takes at most {MaxStopStrings} non-empty strings of at most {MaxStopLength} characters.");
        InvalidSettingException.Check(LogProbs is >= 0 and <= MaxLogProbs, "logprobs", $"logprobs must be between 0 and {MaxLogProbs} (was {LogProbs}).");
        InvalidSettingException.Check(double.IsFinite(PresencePenalty) && Math.Abs(PresencePenalty) <= MaxPenalty, "presencePenalty", $"presencePenalty must be between -{MaxPenalty} and {MaxPenalty} (was {PresencePenalty}).");
        InvalidSettingException.Check(double.IsFinite(FrequencyPenalty) && Math.Abs(FrequencyPenalty) <= MaxPenalty, "frequencyPenalty", $"frequencyPenalty must be between -{MaxPenalty} and {MaxPenalty} (was {FrequencyPenalty}).");
        InvalidSettingException.Check(LogitBias.Count <= MaxLogitBiasTokens, "logitBias", $"logitBias names at most {MaxLogitBiasTokens} tokens (got {LogitBias.Count}).");
        foreach (var (id, bias) in LogitBias)
        {
            InvalidSettingException.Check(id >= 0 && id < vocabularySize, "logitBias", $"logitBias names token id {id}, but the model's ids are 0 to {vocabularySize - 1}.");
            InvalidSettingException.Check(double.IsFinite(bias) && Math.Abs(bias) <= MaxLogitBias, "logitBias", $"logitBias for token {id} must be between -{MaxLogitBias} and {MaxLogitBias} (was {bias}).");
        }
    }
}
