using RnnLmService.Core.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RnnLmService.Bench;

/// <summary>
/// The limit of our stack: the same model and recipe as the trainer, in the plainest TorchSharp loop —
/// no callbacks, checkpoints, loss accumulation or progress; the parameter list built once.
/// </summary>
internal static class BareLoop
{
    public static int Throughput(string dir, Args a)
    {
        var spec = ClassicSpec.From(a);
        int threads = a.Int("threads", 1), warmup = a.Int("warmup", 40), steps = a.Int("steps", 200);
        var mallopt = a.Bool("mallopt", false);
        a.RejectUnknown();
        if (mallopt && !Malloc.KeepFreedMemory()) throw new InvalidOperationException("glibc refused mallopt");
        var m = spec.Model;
        var t = spec.Training;
        var corpus = BenchData.Load(dir, spec.Tokenizer.MaxVocabularySize);

        torch.set_num_threads(threads);
        torch.manual_seed(t.Seed);
        using var model = new BareLm(corpus.Vocabulary.Count, m.EmbeddingSize, m.HiddenSize, m.Layers, m.Dropout, m.TieWeights);
        var parameters = model.named_parameters()
            .Where(p => !(m.TieWeights && p.name == "decoder.weight")).Select(p => p.parameter).ToArray();
        using var optimizer = optim.SGD(parameters, t.LearningRate);
        using var train = Batching.Batchify(corpus.Train, t.BatchSize);                      // (T, B)
        var rows = train.shape[0];
        if ((long)(warmup + steps) * t.Bptt >= rows - 1) throw new ArgumentException("the epoch ends before the timed window does; use fewer steps");

        model.train();
        var h = zeros(m.Layers, t.BatchSize, m.HiddenSize);
        var c = zeros(m.Layers, t.BatchSize, m.HiddenSize);
        var clock = new CpuClock();
        for (int step = 0; step < warmup + steps; step++)
        {
            if (step == warmup) clock.Restart();
            using var scope = NewDisposeScope();
            var i = step * t.Bptt;
            var input = train.narrow(0, i, t.Bptt);                                          // (t, B)
            var target = train.narrow(0, i + 1, t.Bptt).reshape(-1);                         // (t*B)
            optimizer.zero_grad();
            var (logits, h1, c1) = model.call(input, h, c);                                  // (t, B, V)
            var loss = functional.cross_entropy(logits.view(-1, corpus.Vocabulary.Count), target);
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, t.Clip);
            optimizer.step();
            h.Dispose();
            c.Dispose();
            h = h1.detach().MoveToOuterDisposeScope();
            c = c1.detach().MoveToOuterDisposeScope();
        }
        clock.Stop();
        h.Dispose();
        c.Dispose();
        TrainerBench.Emit(mallopt ? "bare-torchsharp+mallopt" : "bare-torchsharp", threads, warmup, steps, (long)steps * t.Bptt * t.BatchSize, clock);
        return 0;
    }

    /// <summary>Embedding → LSTM → dropout → Linear, as pytorch/examples' RNNModel; input (T, B), output (T, B, V).</summary>
    private sealed class BareLm : Module<Tensor, Tensor, Tensor, (Tensor, Tensor, Tensor)>
    {
#pragma warning disable IDE1006
        private readonly Embedding encoder;
        private readonly LSTM rnn;
        private readonly Dropout drop;
        private readonly Linear decoder;
#pragma warning restore IDE1006

        public BareLm(int vocab, int emsize, int nhid, int layers, double dropout, bool tied) : base(nameof(BareLm))
        {
            encoder = Embedding(vocab, emsize);
            rnn = LSTM(emsize, nhid, layers, dropout: layers > 1 ? dropout : 0.0);
            drop = Dropout(dropout);
            decoder = Linear(nhid, vocab);
            using (no_grad())
            {
                init.uniform_(encoder.weight!, -0.1, 0.1);
                init.uniform_(decoder.weight!, -0.1, 0.1);
                init.zeros_(decoder.bias!);
            }
            if (tied) decoder.weight = encoder.weight!;
            RegisterComponents();
        }

        public override (Tensor, Tensor, Tensor) forward(Tensor input, Tensor h, Tensor c)
        {
            var emb = drop.call(encoder.call(input));                                        // (T, B, E)
            var (output, h1, c1) = rnn.call(emb, (h, c));                                    // (T, B, H)
            return (decoder.call(drop.call(output)), h1, c1);                               // (T, B, V)
        }
    }
}
