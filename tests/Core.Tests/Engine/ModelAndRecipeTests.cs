using RnnLmService.Core.Inference;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using TorchSharp;

namespace RnnLmService.Core.Tests.Engine;

public sealed class ModelAndRecipeTests
{
    [Theory]
    [InlineData(CellType.Lstm, true)]
    [InlineData(CellType.Gru, false)]
    [InlineData(CellType.RnnTanh, false)]
    public void Every_cell_type_gives_logits_over_the_vocabulary_and_a_state_of_the_documented_shape(CellType cell, bool hasCellState)
    {
        using var model = new RnnLanguageModel(50, new ModelOptions { CellType = cell, EmbeddingSize = 8, HiddenSize = 12, Layers = 2 });
        using var input = torch.randint(0, 50, [7, 3], dtype: torch.int64);               // (T=7, B=3)
        using var state = model.InitialState(3);
        var (logits, next) = model.call(input, state);
        Assert.Equal([7L, 3, 50], logits.shape);
        Assert.Equal([2L, 3, 12], next.H.shape);
        Assert.Equal(hasCellState, next.C is not null);
        Assert.Equal(7, model.StepsRun);
        logits.Dispose();
        next.Dispose();
    }

    [Fact]
    public void Tied_weights_share_one_matrix_and_count_once()
    {
        using var tied = new RnnLanguageModel(40, new ModelOptions { EmbeddingSize = 16, HiddenSize = 16, Layers = 1, TieWeights = true });
        using var untied = new RnnLanguageModel(40, new ModelOptions { EmbeddingSize = 16, HiddenSize = 16, Layers = 1 });
        var count = (RnnLanguageModel m) => m.UniqueParameters().Sum(p => p.numel());
        Assert.Equal(count(untied) - 40 * 16, count(tied));
        // One matrix: a change through the embedding shows in the decoder.
        using (torch.no_grad()) tied.state_dict()["encoder.weight"].fill_(0.5f);
        Assert.Equal(0.5f, tied.state_dict()["decoder.weight"][3, 7].item<float>());
    }

    [Theory]
    [InlineData("layers", 0, 0.2, 35, false)]
    [InlineData("dropout", 2, -0.1, 35, false)]
    [InlineData("dropout", 2, 1.0, 35, false)]
    [InlineData("tieWeights", 2, 0.2, 35, true)]
    [InlineData("bptt", 2, 0.2, 0, false)]
    public void Settings_out_of_range_name_their_field(string field, int layers, double dropout, int bptt, bool tie)
    {
        var spec = new TrainingSpec
        {
            Model = new ModelOptions { Layers = layers, Dropout = dropout, TieWeights = tie, EmbeddingSize = 200, HiddenSize = tie ? 100 : 200 },
            Training = new TrainingOptions { Bptt = bptt },
        };
        var e = Assert.ThrowsAny<InvalidSettingException>(spec.Validate);
        Assert.Equal(field, e.Field);
        if (tie) Assert.Contains("embeddingSize 200, hiddenSize 100", e.Message);
    }

    [Fact]
    public void A_batch_larger_than_the_corpus_allows_names_batchSize()
    {
        var spec = TinyCorpora.SmallSpec(epochs: 1) with { Training = TinyCorpora.SmallSpec().Training with { BatchSize = 4000 } };
        var e = Assert.ThrowsAny<InvalidSettingException>(() => TinyCorpora.Train(spec, new CorpusSplits("a b c d\n", "a b\n", "c d\n")));
        Assert.Equal("batchSize", e.Field);
    }

    [Fact]
    public void Whitespace_only_training_text_names_the_split()
    {
        var e = Assert.ThrowsAny<InvalidSettingException>(() => TinyCorpora.Train(TinyCorpora.SmallSpec(epochs: 1), new CorpusSplits("  \n\t\n", "a b\n", "c d\n")));
        Assert.Equal("train", e.Field);
    }

    [Fact]
    public void A_character_model_learns_and_generates_chinese_without_broken_code_points()
    {
        // A tiny Chinese text with a deterministic order: each character has one successor.
        const string cycle = "语言模型的目标是预测下一个词😀";
        var runes = cycle.EnumerateRunes().Select(r => r.ToString()).ToArray();
        var rng = new Random(5);
        string Text(int lines) => string.Concat(Enumerable.Range(0, lines).Select(_ =>
            string.Concat(runes.Skip(rng.Next(runes.Length - 3))) + "\n"));
        var splits = new CorpusSplits(Text(200), Text(20), Text(20));
        var spec = TinyCorpora.SmallSpec(epochs: 5) with { Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Character } };
        using var result = TinyCorpora.Train(spec, splits);
        using var model = new LanguageModel(
            new Storage.Models.ModelManifest { Name = "zh", Architecture = spec.Model, Tokenizer = spec.Tokenizer, Training = spec.Training, Metrics = result.Metrics },
            result.Model, result.Vocabulary, result.Tokenizer);

        Assert.Equal("的", model.NextWord(new NextWordQuery("语言模型", TopK: 1)).Top[0].Word);
        using var stream = model.Generate("语言", new GenerationOptions { MaxTokens = 20, Temperature = 0 });
        Assert.Equal(FinishReason.Eos, stream.Finish);
        Assert.Equal("模型的目标是预测下一个词😀", stream.Text);
        Assert.DoesNotContain(stream.Tokens, t => t.Token.Any(char.IsSurrogate) && t.Token.Length != 2);
    }
}
