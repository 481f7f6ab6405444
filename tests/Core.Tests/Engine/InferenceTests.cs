using RnnLmService.Core.Inference;

namespace RnnLmService.Core.Tests.Engine;

public sealed class InferenceTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    private LanguageModel Model => fixture.Model;

    [Fact]
    public void Score_perplexity_equals_exp_of_mean_nll_from_next_word_distributions()
    {
        const string text = "w05 w06 w07 w08\nw20 w21 w09";
        var score = Model.Score(text);
        var tokens = Model.TokensOf(text);
        Assert.Equal(tokens, score.Tokens.Select(t => t.Token));

        // Independently: every token after the first is priced by the next-word distribution of its prefix;
        // the first one (after the line start) has no non-empty context to ask with, so it is taken as scored.
        var nll = -score.Tokens[0].LogProbability;
        Assert.True(score.Tokens[0].LogProbability < 0);
        for (var i = 1; i < tokens.Count; i++)
        {
            var context = string.Join(' ', tokens.Take(i)).Replace(" <eos> ", "\n").Replace(" <eos>", "\n");
            var lp = Model.NextWord(new NextWordQuery(context, TopK: 1, Candidates: [tokens[i]])).Candidates[0].LogProbability;
            Assert.Equal(lp, score.Tokens[i].LogProbability, 1e-4);
            nll -= lp;
        }
        Assert.Equal(nll / tokens.Count, Math.Log(score.Perplexity), 1e-5);
        Assert.Equal(Math.Exp(-score.Tokens.Average(t => t.LogProbability)), score.Perplexity, 9);
        Assert.Equal(-nll, score.TotalLogProbability, 1e-4);
    }

    [Fact]
    public void Batched_answers_equal_unbatched_ones()
    {
        var contexts = new[] { "w01", "w01 w02 w03 w04 w05 w06 w07", "w10 w11\nw15", "w20 w21 w22" };
        var single = contexts.Select(c => Model.NextWord(new NextWordQuery(c, TopK: 5))).ToList();
        var batch = Model.NextWordBatch(contexts.Select(c => new NextWordQuery(c, TopK: 5)).ToList());
        for (var i = 0; i < contexts.Length; i++)
        {
            Assert.Equal(single[i].Top.Select(w => w.Word), batch[i].Top.Select(w => w.Word));
            for (var k = 0; k < 5; k++) Assert.Equal(single[i].Top[k].LogProbability, batch[i].Top[k].LogProbability, 1e-5);
        }
        var texts = new[] { "w01 w02", "w03 w04 w05 w06 w07 w08 w09", "w12" };
        var scores = Model.ScoreBatch(texts);
        for (var i = 0; i < texts.Length; i++)
            Assert.Equal(Model.Score(texts[i]).TotalLogProbability, scores[i].TotalLogProbability, 1e-5);
    }

    [Fact]
    public void Next_word_reports_unknown_context_words_and_prices_candidates()
    {
        var result = Model.NextWord(new NextWordQuery("w04 zebra w05", TopK: 3, Candidates: ["w06", "giraffe"]));
        Assert.Equal(["zebra"], result.UnknownWords);
        Assert.Equal(3, result.Top.Count);
        Assert.Equal("w06", result.Top[0].Word);
        Assert.Equal("w06", result.Candidates[0].Word);
        Assert.Equal(result.Top[0].Probability, result.Candidates[0].Probability, 9);
        Assert.False(result.Candidates[1].InVocabulary);
        Assert.True(result.Candidates[0].InVocabulary);
    }

    [Fact]
    public void A_context_of_unknown_words_or_a_bad_topk_is_a_field_error()
    {
        Assert.Equal("context", Assert.ThrowsAny<InvalidSettingException>(() => Model.NextWord(new NextWordQuery("zebra giraffe"))).Field);
        Assert.Equal("context", Assert.ThrowsAny<InvalidSettingException>(() => Model.NextWord(new NextWordQuery("   "))).Field);
        Assert.Equal("topK", Assert.ThrowsAny<InvalidSettingException>(() => Model.NextWord(new NextWordQuery("w01", TopK: 0))).Field);
        Assert.Equal("topK", Assert.ThrowsAny<InvalidSettingException>(() => Model.NextWord(new NextWordQuery("w01", TopK: Model.Vocabulary.Count + 1))).Field);
        Assert.Equal("text", Assert.ThrowsAny<InvalidSettingException>(() => Model.Score("")).Field);
    }

    [Fact]
    public void Save_then_load_gives_the_same_probabilities()
    {
        using var again = LanguageModel.Load(fixture.ModelDirectory);
        var a = Model.NextWord(new NextWordQuery("w07 w08", TopK: Model.Vocabulary.Count));
        var b = again.NextWord(new NextWordQuery("w07 w08", TopK: Model.Vocabulary.Count));
        Assert.Equal(a.Top.Select(w => w.Word), b.Top.Select(w => w.Word));
        foreach (var (x, y) in a.Top.Zip(b.Top)) Assert.Equal(x.Probability, y.Probability, 1e-6);
        Assert.Equal("cycle", again.Manifest.Name);
        Assert.Equal(Model.Vocabulary.Tokens, again.Vocabulary.Tokens);
    }

    [Fact]
    public void Greedy_generation_continues_the_cycle_and_each_token_costs_one_rnn_step()
    {
        var before = Model.StepsRun;
        using var stream = Model.Generate("w03 w04", new GenerationOptions { MaxTokens = 6, Temperature = 0, StopAtEos = false });
        var steps = Model.StepsRun - before;
        Assert.Equal(FinishReason.Length, stream.Finish);
        Assert.Equal(6, stream.Tokens.Count);
        Assert.Equal(" w05 w06 w07 w08 w09 w10", stream.Text);
        Assert.Equal(stream.Text, string.Concat(stream.Tokens.Select(t => t.Text)));
        // Prompt: <eos> + 2 tokens in one pass (3 steps); then one step per token fed back (the last is not fed).
        Assert.Equal(3 + 5, steps);

        var beforeLong = Model.StepsRun;
        using var longer = Model.Generate("w03 w04", new GenerationOptions { MaxTokens = 24, Temperature = 0, StopAtEos = false });
        Assert.Equal(3 + 23, Model.StepsRun - beforeLong);
    }

    [Fact]
    public void The_same_seed_gives_the_same_sampled_text_and_a_stop_string_ends_it()
    {
        var options = new GenerationOptions { MaxTokens = 30, Temperature = 1.5, TopK = 10, TopP = 0.95, Seed = 7, StopAtEos = false };
        using var a = Model.Generate("w01", options);
        using var b = Model.Generate("w01", options);
        Assert.Equal(a.Text, b.Text);
        Assert.Equal(a.Tokens.Select(t => t.Token), b.Tokens.Select(t => t.Token));

        // Another seed draws another text (at a high temperature the 30 draws are nearly uniform over the vocabulary).
        var hot = options with { Temperature = 5, TopK = 0, TopP = 1 };
        using var seven = Model.Generate("w01", hot);
        using var eight = Model.Generate("w01", hot with { Seed = 8 });
        using var sevenAgain = Model.Generate("w01", hot);
        Assert.Equal(seven.Text, sevenAgain.Text);
        Assert.NotEqual(seven.Text, eight.Text);

        using var stopped = Model.Generate("w01", new GenerationOptions { MaxTokens = 20, Temperature = 0, Stop = ["w05"], StopAtEos = false });
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(" w02 w03 w04 ", stopped.Text);
        Assert.Equal(stopped.Text, string.Concat(stopped.Tokens.Select(t => t.Text)));
    }

    [Fact]
    public void Streams_stepped_together_match_streams_stepped_alone()
    {
        var o = new GenerationOptions { MaxTokens = 8, Temperature = 1.0, Seed = 3, StopAtEos = false, LogProbs = 2 };
        using var alone1 = Model.Generate("w01 w02", o);
        using var alone2 = Model.Generate("w15", o with { Seed = 4 });
        using var s1 = Model.StartGeneration("w01 w02", o);
        using var s2 = Model.StartGeneration("w15", o with { Seed = 4 });
        while (s1.Finish is null || s2.Finish is null) Model.Step([s1, s2]);
        Assert.Equal(alone1.Text, s1.Text);
        Assert.Equal(alone2.Text, s2.Text);
        Assert.All(s1.Tokens, t => Assert.Equal(2, t.TopAlternatives.Count));
        for (var i = 0; i < 8; i++) Assert.Equal(alone1.Tokens[i].LogProbability, s1.Tokens[i].LogProbability, 1e-5);
    }

    [Fact]
    public void Streams_match_alone_when_the_batch_changes_between_steps()
    {
        // the batch state is reused while the same streams step again, joined anew when one joins, leaves or moves
        var o = new GenerationOptions { MaxTokens = 10, Temperature = 1.0, Seed = 5, StopAtEos = false };
        var short2 = o with { Seed = 6, MaxTokens = 4 };
        var late3 = o with { Seed = 7, MaxTokens = 6 };
        using var alone1 = Model.Generate("w01 w02", o);
        using var alone2 = Model.Generate("w15", short2);
        using var alone3 = Model.Generate("w07 w08", late3);
        using var s1 = Model.StartGeneration("w01 w02", o);
        using var s2 = Model.StartGeneration("w15", short2);
        using var s3 = Model.StartGeneration("w07 w08", late3);
        for (var i = 0; i < 3; i++) Model.Step([s1, s2]);
        Model.Step([s3, s2, s1]);                                                        // s3 joins, order changes, s2 ends
        while (s1.Finish is null || s3.Finish is null) Model.Step([s1, s3]);              // s2 has left after 4 tokens
        Assert.Equal(alone1.Text, s1.Text);
        Assert.Equal(alone2.Text, s2.Text);
        Assert.Equal(alone3.Text, s3.Text);
        Assert.Equal([10, 4, 6], new[] { s1.Tokens.Count, s2.Tokens.Count, s3.Tokens.Count });
    }

    [Theory]
    [InlineData("maxTokens", 0, 1.0, 0, 1.0)]
    [InlineData("temperature", 5, -0.5, 0, 1.0)]
    [InlineData("temperature", 5, double.NaN, 0, 1.0)]
    [InlineData("topK", 5, 1.0, -1, 1.0)]
    [InlineData("topP", 5, 1.0, 0, 0.0)]
    [InlineData("topP", 5, 1.0, 0, 1.5)]
    public void Generation_options_out_of_range_name_the_field(string field, int maxTokens, double temperature, int topK, double topP)
    {
        var e = Assert.ThrowsAny<InvalidSettingException>(() =>
            Model.StartGeneration("w01", new GenerationOptions { MaxTokens = maxTokens, Temperature = temperature, TopK = topK, TopP = topP }));
        Assert.Equal(field, e.Field);
    }
}
