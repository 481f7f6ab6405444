using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>A BPE model with so few merges that the words of a cycle of ten fruit and animal names are several tokens each.</summary>
public sealed class SubwordModelFixture : IDisposable
{
    private static readonly string[] Cycle = ["apple", "banana", "cherry", "dragon", "eagle", "falcon", "grape", "hazel", "iris", "jasmine"];
    private readonly TempDir dir = new();

    public SubwordModelFixture()
    {
        var spec = TinyCorpora.SmallSpec(epochs: 6) with { Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 266 } };
        using var result = TinyCorpora.Train(spec, new CorpusSplits(Words(200, 1), Words(20, 2), Words(20, 3)));
        ModelArtifacts.Save(dir.Sub("bpe/1"), "bpe", 1, result);
        Model = LanguageModel.Load(dir.Sub("bpe/1"));
    }

    public LanguageModel Model { get; }

    /// <summary>Lines of 4 to 10 words of <see cref="Cycle"/> in order, from a random start.</summary>
    private static string Words(int lines, int seed)
    {
        var rng = new Random(seed);
        return string.Concat(Enumerable.Range(0, lines).Select(_ =>
        {
            var start = rng.Next(Cycle.Length);
            return string.Join(' ', Enumerable.Range(0, rng.Next(4, 11)).Select(i => Cycle[(start + i) % Cycle.Length])) + "\n";
        }));
    }

    public void Dispose()
    {
        Model.Dispose();
        dir.Dispose();
    }
}

public sealed class SubwordNextWordTests(SubwordModelFixture fixture) : IClassFixture<SubwordModelFixture>
{
    private LanguageModel model => fixture.Model;

    [Fact]
    public void Next_word_extends_top_tokens_greedily_to_whole_words_and_says_so()
    {
        Assert.True(model.Tokenizer.TokenizeLine(" cherry").Count > 1, "the test needs words split into several tokens");
        var result = model.NextWord(new NextWordQuery("apple banana", TopK: 5, Candidates: ["cherry", "eagle"]));
        Assert.Equal("greedy-word", result.Completion);
        Assert.True(" cherry" == result.Top[0].Word, string.Join(" | ", result.Top.Select(w => $"'{w.Word}' {w.LogProbability:F2}")));
        Assert.Equal(result.Top.Count, result.Top.Select(w => w.Word).Distinct().Count());

        // Candidates are priced exactly: the chain rule over their tokens, as scoring the text gives them.
        var score = model.Score("apple banana cherry");
        var n = model.Tokenizer.TokenizeLine(" cherry").Count;
        var expected = score.Tokens.TakeLast(n).Sum(t => t.LogProbability);
        Assert.Equal(expected, result.Candidates[0].LogProbability, 3);
        Assert.True(result.Candidates[0].Probability > 10 * result.Candidates[1].Probability);
        // The greedy path is one way to spell the word: its probability is at most the word's.
        Assert.True(result.Top[0].LogProbability <= expected + 1e-4);
    }

    [Fact]
    public void Generation_turns_byte_level_tokens_back_into_text()
    {
        var stream = model.Generate("apple banana", new GenerationOptions { MaxTokens = 12, Temperature = 0 });
        Assert.StartsWith(" cherry dragon", stream.Text);
        Assert.DoesNotContain("Ġ", stream.Text);
    }
}
