using RnnLmService.Core.Inference;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>The packed output layer against LibTorch's linear, and that a model loaded for serving uses it.</summary>
public sealed class PackedDecoderTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    [Theory]
    [InlineData(10_000, 200, 20)]  // the classic decoder: 312 whole panels and a 16-word tail; two 8-row blocks and 4 rows
    [InlineData(10_000, 200, 1)]
    [InlineData(64, 7, 8)]         // whole panels only, one full row block
    [InlineData(24, 5, 13)]        // a tail panel only
    public void Equals_linear(int vocabulary, int hidden, int batch)
    {
        if (!PackedDecoder.Supported) return;                              // nothing to compare: serving uses linear here
        manual_seed(vocabulary + hidden + batch);
        using var scope = NewDisposeScope();
        var w = randn(vocabulary, hidden) * 0.3f;
        var b = randn(vocabulary);
        var x = randn(batch, hidden);
        var expected = nn.functional.linear(x, w, b).data<float>().ToArray();
        var actual = new PackedDecoder(w, b).Forward(x);
        Assert.Equal(new long[] { batch, vocabulary }, actual.shape);
        var got = actual.data<float>().ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], got[i], 1e-4);
        // Every column is written (a skipped panel would leave the uninitialised memory of empty()).
        Assert.Equal(vocabulary * batch, got.Zip(expected).Count(p => Math.Abs(p.First - p.Second) <= 1e-4));
    }

    [Fact]
    public void A_model_loaded_for_serving_decodes_with_it_and_answers_as_the_unpacked_model()
    {
        using var served = LanguageModel.Load(fixture.ModelDirectory);
        Assert.Equal(PackedDecoder.Supported, served.PackedDecoderBytes > 0);
        var plain = new LanguageModel(                                   // not disposed: it shares served's network
            served.Manifest, served.Network, served.Vocabulary, served.Tokenizer);
        Assert.Equal(0, plain.PackedDecoderBytes);
        var v = served.Vocabulary.Count;
        var queries = new[] { "w01 w02", "w10", "w03 w04 w05 w06 w07 w08 w09" }.Select(c => new NextWordQuery(c, TopK: v)).ToList();
        var packedAnswers = served.NextWordBatch(queries);
        var plainAnswers = plain.NextWordBatch(queries);
        foreach (var (p, q) in packedAnswers.Zip(plainAnswers))
        {
            Assert.Equal(q.Entropy, p.Entropy, 1e-5);
            var byWord = q.Top.ToDictionary(t => t.Word, t => t.LogProbability);
            foreach (var t in p.Top) Assert.Equal(byWord[t.Word], t.LogProbability, 1e-5);
        }
    }
}
