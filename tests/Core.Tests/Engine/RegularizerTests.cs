using RnnLmService.Core.Modeling;
using RnnLmService.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>The AWD-LSTM regularisers on tiny models: what each mask touches, when it is drawn, and that eval turns all off.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class RegularizerTests
{
    private static ModelOptions Tiny(double weightDrop = 0) =>
        new() { EmbeddingSize = 6, HiddenSize = 8, Layers = 2, Dropout = 0, WeightDrop = weightDrop };

    [Fact]
    public void Weight_drop_masks_only_the_hidden_to_hidden_weights_once_per_batch_and_restores_them()
    {
        manual_seed(3);
        using var model = new RnnLanguageModel(20, Tiny(weightDrop: 0.5));
        model.train();
        var raw = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var input = randint(0, 20, [5, 3], dtype: int64);
        using var state = model.InitialState(3);
        Tensor firstMask;
        using (var batch = model.BeginWeightDrop()!)
        {
            Assert.Equal(2, batch.Masks.Count);                                   // weight_hh_l0, weight_hh_l1
            foreach (var (name, now) in model.state_dict())
            {
                if (name.Contains("weight_hh"))
                {
                    var dropped = now.eq(0).to_type(float32).mean().item<float>();
                    Assert.InRange(dropped, 0.3f, 0.7f);
                    // Survivors are the raw weight scaled by 1/(1-p).
                    Assert.True(now.allclose(raw[name] * batch.Masks[name.EndsWith("l0") ? 0 : 1]), name);
                }
                else Assert.True(Same(now, raw[name]), $"{name} must not be masked");
            }
            // The mask stays for the whole batch: two forward passes see the same weights.
            var (a, _) = model.call(input, state);
            var (b, _) = model.call(input, state);
            Assert.True(Same(a, b));
            firstMask = batch.Masks[0].clone();
        }
        foreach (var (name, now) in model.state_dict()) Assert.True(Same(now, raw[name]), $"{name} restored");
        using (var second = model.BeginWeightDrop()!) Assert.False(Same(second.Masks[0], firstMask), "a new batch draws a new mask");
        model.eval();
        Assert.Null(model.BeginWeightDrop());
    }

    [Fact]
    public void Weight_drop_gradients_equal_an_explicitly_masked_lstm()
    {
        manual_seed(5);
        const int V = 12, E = 4, H = 5, T = 4, B = 2;
        using var model = new RnnLanguageModel(V, new ModelOptions { EmbeddingSize = E, HiddenSize = H, Layers = 1, Dropout = 0, WeightDrop = 0.5 });
        model.train();
        var p = model.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        using var input = randint(0, V, [T, B], dtype: int64);
        using var target = randint(0, V, [T * B], dtype: int64);

        // Ours: the fused kernel on the weight masked in place, the gradient masked afterwards.
        model.zero_grad();
        Tensor mask, ours, oursLoss;
        using (var batch = model.BeginWeightDrop()!)
        {
            using var state = model.InitialState(B);
            var (logits, _) = model.call(input, state);
            oursLoss = nn.functional.cross_entropy(logits.view(-1, V), target);
            oursLoss.backward();
            batch.MaskGradients();
            mask = batch.Masks[0].clone();
        }
        ours = p["rnn.weight_hh_l0"].grad!.clone();

        // Reference: the LSTM written out, with W_hh = mask ⊙ W (W a leaf), as AWD-LSTM's WeightDrop computes it.
        var w = p["rnn.weight_hh_l0"].detach().clone().requires_grad_(true);
        var (wih, bih, bhh) = (p["rnn.weight_ih_l0"].detach(), p["rnn.bias_ih_l0"].detach(), p["rnn.bias_hh_l0"].detach());
        var emb = p["encoder.weight"].detach().index_select(0, input.reshape(-1)).view(T, B, E);
        var h = zeros(B, H);
        var c = zeros(B, H);
        var outputs = new List<Tensor>();
        var whh = w * mask;
        for (var t = 0; t < T; t++)
        {
            var gates = emb[t].matmul(wih.t()) + bih + h.matmul(whh.t()) + bhh;   // (B, 4H), order i, f, g, o
            var g = gates.chunk(4, 1);
            c = g[1].sigmoid() * c + g[0].sigmoid() * g[2].tanh();
            h = g[3].sigmoid() * c.tanh();
            outputs.Add(h);
        }
        var refLogits = stack(outputs, 0).matmul(p["decoder.weight"].detach().t()) + p["decoder.bias"].detach();
        var refLoss = nn.functional.cross_entropy(refLogits.view(-1, V), target);
        refLoss.backward();

        Assert.Equal(refLoss.item<float>(), oursLoss.item<float>(), 5);
        Assert.True(ours.allclose(w.grad!, rtol: 1e-4, atol: 1e-6), "gradient with respect to the raw weight");
        Assert.True(ours.eq(0).logical_or(mask.ne(0)).all().item<bool>(), "dropped weights get no gradient");
    }

    [Fact]
    public void A_locked_dropout_mask_is_constant_along_time_and_differs_across_the_batch()
    {
        manual_seed(7);
        using var x = ones(6, 4, 50);                                              // (T, B, F)
        using var y = Regularizers.LockedDropout(x, 0.5, training: true);
        for (var t = 1; t < 6; t++) Assert.True(Same(y[t], y[0]), $"step {t} uses the step-0 mask");
        Assert.False(Same(y[0, 0], y[0, 1]), "sequences get their own masks");
        var kept = y.ne(0).to_type(float32).mean().item<float>();
        Assert.InRange(kept, 0.35f, 0.65f);
        Assert.True(y.masked_select(y.ne(0)).eq(2f).all().item<bool>(), "survivors scaled by 1/(1-p)");
        using var off = Regularizers.LockedDropout(x, 0.5, training: false);
        Assert.True(Same(off, x));
    }

    [Fact]
    public void Embedding_dropout_drops_whole_words()
    {
        manual_seed(11);
        const int V = 16;
        using var model = new RnnLanguageModel(V, new ModelOptions { EmbeddingSize = 6, HiddenSize = 8, Layers = 1, Dropout = 0, EmbeddingDropout = 0.5 });
        model.train();
        using var input = arange(0, V, dtype: int64).repeat(4).view(8, 8);      // every word 4 times
        using var state = model.InitialState(8);
        var (logits, _) = model.call(input, state);
        logits.sum().backward();
        var grad = model.named_parameters().Single(p => p.name == "encoder.weight").parameter.grad!;   // (V, E)
        var rowsDropped = grad.abs().sum(1).eq(0);                                 // a dropped word gets no gradient at any occurrence
        var dropped = rowsDropped.sum().item<long>();
        Assert.InRange(dropped, 2, V - 2);
        // Partly dropped words would show as rows with some but not all of their occurrences' gradient: compare with no dropout.
        using var plain = new RnnLanguageModel(V, new ModelOptions { EmbeddingSize = 6, HiddenSize = 8, Layers = 1, Dropout = 0 });
        plain.load_state_dict(model.state_dict());
        plain.train();
        var (pl, _) = plain.call(input, state);
        pl.sum().backward();
        Assert.Equal(0, plain.named_parameters().Single(p => p.name == "encoder.weight").parameter.grad!.abs().sum(1).eq(0).sum().item<long>());
    }

    [Fact]
    public void Every_regulariser_is_off_in_eval_mode()
    {
        var on = new ModelOptions
        {
            EmbeddingSize = 8, HiddenSize = 8, Layers = 2, Dropout = 0.5, TieWeights = true, WeightDrop = 0.5, EmbeddingDropout = 0.5,
            LockedDropout = true, InputDropout = 0.5, HiddenDropout = 0.5, OutputDropout = 0.5,
        };
        var off = on with { Dropout = 0, WeightDrop = 0, EmbeddingDropout = 0, InputDropout = 0, HiddenDropout = 0, OutputDropout = 0 };
        manual_seed(13);
        using var a = new RnnLanguageModel(25, on);
        using var b = new RnnLanguageModel(25, off);
        b.load_state_dict(a.state_dict());
        using var input = randint(0, 25, [7, 3], dtype: int64);
        using var state = a.InitialState(3);

        a.train();
        var (trainA1, _) = a.call(input, state);
        var (trainA2, _) = a.call(input, state);
        Assert.False(trainA1.allclose(trainA2), "in training the masks are random");

        a.eval();
        b.eval();
        Assert.Null(a.BeginWeightDrop());
        var (evalA, _) = a.call(input, state);
        var (evalB, _) = b.call(input, state);
        Assert.True(evalA.allclose(evalB, rtol: 1e-5, atol: 1e-6), "eval output is that of the same weights with every rate 0");
    }

    [Fact]
    public void Activation_regularisation_shrinks_the_last_layer_output_and_temporal_regularisation_its_changes()
    {
        var splits = TinyCorpora.CycleSplits();
        var spec = TinyCorpora.SmallSpec(epochs: 2);
        using var plain = TinyCorpora.Train(spec, splits);
        using var ar = TinyCorpora.Train(spec with { Training = spec.Training with { ActivationRegularization = 20 } }, splits);
        using var tar = TinyCorpora.Train(spec with { Training = spec.Training with { TemporalActivationRegularization = 20 } }, splits);

        var (plainSize, plainChange) = Activations(plain);
        var (arSize, _) = Activations(ar);
        var (_, tarChange) = Activations(tar);
        Assert.True(arSize < plainSize * 0.8, $"AR: mean h² {arSize} vs {plainSize}");
        Assert.True(tarChange < plainChange * 0.8, $"TAR: mean (h_t - h_t-1)² {tarChange} vs {plainChange}");
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static (double Size, double Change) Activations(TrainingResult result)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = result.Vocabulary.Encode(result.Tokenizer.Tokenize(TinyCorpora.CycleSplits().Valid)).Take(200).ToArray();
        var input = tensor(ids, dtype: int64).view(-1, 1);                                    // (T, 1)
        var r = result.Model.Forward(input, result.Model.InitialState(1), keepOutput: true);
        var h = r.Output!;                                                                     // (T, 1, H)
        var t = h.shape[0];
        return (h.pow(2).mean().item<float>(), (h.narrow(0, 1, t - 1) - h.narrow(0, 0, t - 1)).pow(2).mean().item<float>());
    }
}
