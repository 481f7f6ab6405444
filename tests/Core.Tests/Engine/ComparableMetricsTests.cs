using RnnLmService.Core.Inference;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

public sealed class ComparableMetricsTests
{
    [Fact]
    public void Bits_per_character_and_word_perplexity_equal_a_hand_computation()
    {
        // One evaluation stream over "w01 w02 w03\nw04 zzz\n": tokens w01 w02 w03 <eos> w04 zzz <eos>, zzz unknown.
        // Scored: all but the first → " w02" 4, " w03" 4, "\n" 1, "w04" 3, " zzz" 4 (one <unk> for its 4), "\n" 1 = 17
        // characters; words w02 w03 w04 zzz = 4.
        var train = TinyCorpora.CycleSplits();
        var splits = train with { Test = "w01 w02 w03\nw04 zzz\n" };
        var spec = TinyCorpora.SmallSpec(epochs: 1) with { Training = TinyCorpora.SmallSpec().Training with { Epochs = 1, EvalBatchSize = 1 } };
        using var result = TinyCorpora.Train(spec, splits);
        var m = result.Metrics;
        Assert.Equal((17L, 4L), (m.TestCharacters, m.TestWords));

        var ids = result.Vocabulary.Encode(result.Tokenizer.Tokenize(splits.Test));
        Assert.Equal(0, ids[5]);                                              // zzz is <unk>
        double nats;
        using (no_grad())
        using (NewDisposeScope())
        {
            var input = tensor(ids[..^1], [ids.Length - 1, 1]);
            var (logits, _) = result.Model.call(input, result.Model.InitialState(1));
            nats = -logits.log_softmax(-1).squeeze(1).gather(1, tensor(ids[1..]).unsqueeze(1)).to_type(ScalarType.Float64).sum().item<double>();
        }
        Assert.Equal(nats / Math.Log(2) / 17, m.TestBitsPerCharacter, 4);
        Assert.Equal(Math.Exp(nats / 4), m.TestWordPerplexity, 3);
        Assert.Equal(Math.Exp(nats / 6), m.TestPerplexity, 3);
        Assert.Equal(result.Model.parameters().Sum(p => p.numel()), m.Parameters);
        Assert.Equal(4 * m.Parameters, m.ParameterBytes);
        Assert.True(m.TrainingSeconds > 0);
        Assert.True(m.TokensPerSecond > 0);
        using var dir = new TempDir();
        ModelArtifacts.Save(dir.Sub("m/1"), "m", 1, result);
        Assert.Equal(new FileInfo(dir.Sub("m/1/weights.bin")).Length, m.ModelBytes);      // the file the model saves as
        Assert.InRange(m.ModelBytes, m.ParameterBytes + 1, m.ParameterBytes + 4096);
    }

    [Fact]
    public void A_bpe_model_saves_loads_and_answers_the_same()
    {
        var splits = TinyCorpora.CycleSplits();
        var spec = TinyCorpora.SmallSpec(epochs: 2) with { Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 300 } };
        using var dir = new TempDir();
        ScoreResult before;
        using (var result = TinyCorpora.Train(spec, splits))
        {
            var merges = ((BpeTokenizer)result.Tokenizer).Merges.Merges.Count;
            Assert.InRange(merges, 20, 300 - 258);                             // the cycle language runs out of pairs before 42 merges
            Assert.Equal(258 + merges, result.Vocabulary.Count);
            Assert.InRange(result.Metrics.TestBitsPerCharacter, 0.01, 8.0);
            ModelArtifacts.Save(dir.Sub("bpe/1"), "bpe", 1, result);
            using var live = new LanguageModel(ModelArtifacts.ReadManifest(dir.Sub("bpe/1")), result.Model, result.Vocabulary, result.Tokenizer);
            before = live.Score("w01 w02 中文 🎉\n");
        }
        Assert.True(File.Exists(dir.Sub("bpe/1/merges.json")));
        using var loaded = LanguageModel.Load(dir.Sub("bpe/1"));
        Assert.IsType<BpeTokenizer>(loaded.Tokenizer);
        var after = loaded.Score("w01 w02 中文 🎉\n");
        Assert.All(after.Tokens, t => Assert.True(t.Known));                // no unknown tokens, even for unseen scripts
        Assert.Equal(before.Tokens.Select(t => t.Token), after.Tokens.Select(t => t.Token));
        Assert.Equal(before.TotalLogProbability, after.TotalLogProbability, 4);
    }
}
