using System.Diagnostics;
using static TorchSharp.torch;

namespace RnnLmService.Bench;

/// <summary>
/// <c>decoder-gemm [batch=32 hidden=200 vocab=10000 iters=300 reps=3 threads=1]</c>: one next-word batch's output layer,
/// (B, H) → (B, V) logits, computed five ways on one thread, interleaved: <c>linear</c> (x·Wᵀ + b, the decoder as the
/// model runs it), <c>addmm-t</c> (the same with a contiguous Wᵀ kept beside W), <c>mm-left</c> ((W·xᵀ)ᵀ + b: the large
/// matrix as the left operand), <c>chunks</c> (linear over row blocks of W, 2,500 words each) and, where the CPU has
/// 512-bit vectors, <c>packed</c> (the <see cref="RnnLmService.Core.Inference.PackedDecoder"/> served models use). Prints ms per batch.
/// </summary>
internal static class DecoderGemm
{
    public static int Run(Args a)
    {
        int b = a.Int("batch", 32), h = a.Int("hidden", 200), v = a.Int("vocab", 10000), iters = a.Int("iters", 300), reps = a.Int("reps", 3);
        set_num_threads(a.Int("threads", 1));
        a.RejectUnknown();
        using var _ = no_grad();
        var w = randn(v, h) * 0.1f;
        var bias = randn(v) * 0.1f;
        var wt = w.t().contiguous();
        var x = randn(b, h);
        var blocks = Enumerable.Range(0, (v + 2499) / 2500).Select(i => (W: w.narrow(0, i * 2500, Math.Min(2500, v - i * 2500)), B: bias.narrow(0, i * 2500, Math.Min(2500, v - i * 2500)))).ToArray();
        var ways = new (string Name, Func<Tensor> Run)[]
        {
            ("linear", () => nn.functional.linear(x, w, bias)),
            ("addmm-t", () => bias.addmm(x, wt)),
            ("mm-left", () => w.mm(x.t()).t().add(bias)),
            ("chunks", () => cat(blocks.Select(k => nn.functional.linear(x, k.W, k.B)).ToArray(), 1)),
        };
        if (RnnLmService.Core.Inference.PackedDecoder.Supported)
        {
            var packed = new RnnLmService.Core.Inference.PackedDecoder(w, bias);
            ways = [.. ways, ("packed", () => packed.Forward(x))];
        }
        var reference = ways[0].Run();
        foreach (var (name, run) in ways)
        {
            using var y = run();
            var diff = (y - reference).abs().max().item<float>();
            if (diff > 1e-3) throw new InvalidOperationException($"{name} differs from linear by {diff}");
        }
        for (var rep = 1; rep <= reps; rep++)
            foreach (var (name, run) in ways)
            {
                for (var i = 0; i < 20; i++) run().Dispose();
                var watch = Stopwatch.StartNew();
                for (var i = 0; i < iters; i++) run().Dispose();
                Console.WriteLine($"{{\"benchmark\":\"decoder-gemm\",\"way\":\"{name}\",\"rep\":{rep},\"batch\":{b},\"msPerBatch\":{watch.Elapsed.TotalMilliseconds / iters:F4}}}");
            }
        return 0;
    }
}
