using System.Text;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Models;
using RnnLmService.Core.Inference;
using GeneratedToken = RnnLmService.Core.Inference.GeneratedToken;

namespace RnnLmService.Api.Serving;

/// <summary>One OpenAI choice: a <see cref="CompletionAccumulator"/> read in OpenAI's terms (text offsets, finish reasons, logprobs).</summary>
internal sealed class OpenAiChoice(int startOffset = 0)
{
    private readonly CompletionAccumulator completion = new();

    /// <summary>The tokens so far.</summary>
    public IReadOnlyList<GeneratedToken> Tokens => completion.Tokens;

    /// <summary><c>length</c> or <c>stop</c> (the model's end of line counts as <c>stop</c>), null while it runs.</summary>
    public string? FinishReason => completion.Finish is { } f ? Name(f) : null;

    /// <summary>The text so far.</summary>
    public string Text => completion.Text;

    /// <summary>Sum of the tokens' log-probabilities (what <c>best_of</c> ranks by).</summary>
    public double TotalLogprob => Tokens.Sum(t => t.LogProbability);

    /// <summary>Adds a step.</summary>
    public void Add(GenerationStep step) => completion.Add(step);

    /// <summary>OpenAI's spelling of a finish reason.</summary>
    public static string Name(FinishReason reason) => reason == Core.Inference.FinishReason.Length ? "length" : "stop";

    /// <summary>A token spelled as it appears in the output: with the leading space the chosen token's text carries.</summary>
    public static string Spelled(GeneratedToken chosen, string word) =>
        chosen.Text.Length > chosen.Token.Length && chosen.Text.EndsWith(chosen.Token, StringComparison.Ordinal)
            ? chosen.Text[..^chosen.Token.Length] + word
            : word;

    /// <summary>The legacy completions logprobs of the tokens so far (offsets from the start offset).</summary>
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
                .GroupBy(a => Spelled(t, a.Word)).ToDictionary(g => g.Key, g => g.First().LogProbability)).ToList(),
            TextOffset = offsets,
        };
    }

    /// <summary>Chat logprobs of <paramref name="tokens"/>: each token as spelled in the output, with its top alternatives.</summary>
    public static ChatLogprobs ChatLogprobs(IEnumerable<GeneratedToken> tokens) => new()
    {
        Content = tokens.Select(t => new ChatTokenLogprob
        {
            Token = Spelled(t, t.Token),
            Logprob = t.LogProbability,
            Bytes = Bytes(Spelled(t, t.Token)),
            TopLogprobs = t.TopAlternatives.Select(a => new ChatTopLogprob { Token = Spelled(t, a.Word), Logprob = a.LogProbability, Bytes = Bytes(Spelled(t, a.Word)) }).ToList(),
        }).ToList(),
    };

    private static IReadOnlyList<int> Bytes(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToList();
}
