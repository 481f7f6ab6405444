using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>
/// The full-softmax output layer of a served model, x·Wᵀ + b for a few rows at a time, as a 512-bit kernel over a copy of
/// W packed once into panels of 32 words ([panel][hidden][32]): every batch streams the packed weight once and keeps 8
/// rows × 32 words of sums in registers. On this machine (AMD EPYC, one thread) it takes 1.3 ms for a batch of 20 rows of
/// the classic 10,000 × 200 decoder, where LibTorch's linear (MKL's sgemm, about 30 GFLOP/s on so few rows) takes
/// 2.3–2.9 ms (bench: <c>decoder-gemm</c>). Sums run in a different order than MKL's, so logits differ in the last bits
/// (well inside the 1e-5 the answers are held to). Read-only after construction: one copy per
/// loaded model, sized V × H floats.
/// </summary>
public sealed class PackedDecoder
{
    private const int Panel = 32;                       // words per panel: two 512-bit vectors
    private const int Rows = 8;                         // batch rows per register block
    private readonly float[] packed;                    // [panel][hidden][32], words past V are zero
    private readonly float[] bias;                      // padded to whole panels

    /// <summary>Whether this machine runs the kernel (512-bit vectors in hardware); otherwise use LibTorch's linear.</summary>
    public static bool Supported => Vector512.IsHardwareAccelerated;

    /// <summary>Packs <paramref name="weight"/> (V, H) and <paramref name="biasTensor"/> (V) or none.</summary>
    public PackedDecoder(Tensor weight, Tensor? biasTensor)
    {
        if (weight.dim() != 2) throw new ArgumentException("The decoder weight must be (V, H).", nameof(weight));
        Vocabulary = (int)weight.shape[0];
        Hidden = (int)weight.shape[1];
        Panels = (Vocabulary + Panel - 1) / Panel;
        using var w = weight.detach().to(ScalarType.Float32).contiguous();
        var rows = w.data<float>().ToArray();
        packed = new float[(long)Panels * Hidden * Panel];
        for (var v = 0; v < Vocabulary; v++)
        {
            var (p, j) = (v / Panel, v % Panel);
            for (var k = 0; k < Hidden; k++) packed[((long)p * Hidden + k) * Panel + j] = rows[(long)v * Hidden + k];
        }
        bias = new float[Panels * Panel];
        if (biasTensor is not null)
        {
            using var bt = biasTensor.detach().to(ScalarType.Float32).contiguous();
            bt.data<float>().ToArray().CopyTo(bias, 0);
        }
    }

    /// <summary>Output size V.</summary>
    public int Vocabulary { get; }

    /// <summary>Input size H.</summary>
    public int Hidden { get; }

    private int Panels { get; }

    /// <summary>The bytes the packed copy holds.</summary>
    public long Bytes => (packed.LongLength + bias.LongLength) * sizeof(float);

    /// <summary>Logits (B, V) float32 for <paramref name="x"/> (B, H), a new tensor.</summary>
    public Tensor Forward(Tensor x)
    {
        if (x.dim() != 2 || x.shape[1] != Hidden) throw new ArgumentException($"Expected (B, {Hidden}) input.", nameof(x));
        var b = (int)x.shape[0];
        using var input = x.to(ScalarType.Float32).contiguous();
        var output = empty(b, Vocabulary, dtype: ScalarType.Float32);
        Forward(MemoryMarshal.Cast<byte, float>(input.bytes), b, MemoryMarshal.Cast<byte, float>(output.bytes));
        return output;
    }

    /// <summary>y (B × V, row-major) = x (B × H, row-major) · Wᵀ + b.</summary>
    public void Forward(ReadOnlySpan<float> x, int b, Span<float> y)
    {
        if (x.Length < b * Hidden || y.Length < b * Vocabulary) throw new ArgumentException("Input or output too short.");
        Span<float> tail = stackalloc float[Rows * Panel];
        for (var p = 0; p < Panels; p++)
        {
            var whole = (p + 1) * Panel <= Vocabulary;
            for (var r = 0; r < b; r += Rows)
            {
                var n = Math.Min(Rows, b - r);
                if (whole) Block(x, r, n, p, y[(r * Vocabulary + p * Panel)..], Vocabulary);
                else
                {
                    Block(x, r, n, p, tail, Panel);
                    var width = Vocabulary - p * Panel;
                    for (var i = 0; i < n; i++) tail.Slice(i * Panel, width).CopyTo(y.Slice((r + i) * Vocabulary + p * Panel, width));
                }
            }
        }
    }

    /// <summary>Rows r..r+n (n ≤ 8) of x times panel p, plus bias, into <paramref name="y"/>'s first n rows of <paramref name="stride"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block(ReadOnlySpan<float> x, int r, int n, int p, Span<float> y, int stride)
    {
        ref var w = ref packed[(long)p * Hidden * Panel];
        ref var xr = ref Unsafe.AsRef(in x[r * Hidden]);
        var h = Hidden;
        var b0 = Vector512.LoadUnsafe(ref bias[p * Panel]);
        var b1 = Vector512.LoadUnsafe(ref bias[p * Panel], 16);
        if (n == Rows)
        {
            Vector512<float> a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
            Vector512<float> a40 = b0, a41 = b1, a50 = b0, a51 = b1, a60 = b0, a61 = b1, a70 = b0, a71 = b1;
            for (var k = 0; k < h; k++)
            {
                var w0 = Vector512.LoadUnsafe(ref w, (nuint)(k * Panel));
                var w1 = Vector512.LoadUnsafe(ref w, (nuint)(k * Panel + 16));
                var s = Vector512.Create(Unsafe.Add(ref xr, k)); a00 = Vector512.FusedMultiplyAdd(s, w0, a00); a01 = Vector512.FusedMultiplyAdd(s, w1, a01);
                s = Vector512.Create(Unsafe.Add(ref xr, h + k)); a10 = Vector512.FusedMultiplyAdd(s, w0, a10); a11 = Vector512.FusedMultiplyAdd(s, w1, a11);
                s = Vector512.Create(Unsafe.Add(ref xr, 2 * h + k)); a20 = Vector512.FusedMultiplyAdd(s, w0, a20); a21 = Vector512.FusedMultiplyAdd(s, w1, a21);
                s = Vector512.Create(Unsafe.Add(ref xr, 3 * h + k)); a30 = Vector512.FusedMultiplyAdd(s, w0, a30); a31 = Vector512.FusedMultiplyAdd(s, w1, a31);
                s = Vector512.Create(Unsafe.Add(ref xr, 4 * h + k)); a40 = Vector512.FusedMultiplyAdd(s, w0, a40); a41 = Vector512.FusedMultiplyAdd(s, w1, a41);
                s = Vector512.Create(Unsafe.Add(ref xr, 5 * h + k)); a50 = Vector512.FusedMultiplyAdd(s, w0, a50); a51 = Vector512.FusedMultiplyAdd(s, w1, a51);
                s = Vector512.Create(Unsafe.Add(ref xr, 6 * h + k)); a60 = Vector512.FusedMultiplyAdd(s, w0, a60); a61 = Vector512.FusedMultiplyAdd(s, w1, a61);
                s = Vector512.Create(Unsafe.Add(ref xr, 7 * h + k)); a70 = Vector512.FusedMultiplyAdd(s, w0, a70); a71 = Vector512.FusedMultiplyAdd(s, w1, a71);
            }
            ref var o = ref y[0];
            Store(ref o, 0, a00, a01); Store(ref o, stride, a10, a11); Store(ref o, 2 * stride, a20, a21); Store(ref o, 3 * stride, a30, a31);
            Store(ref o, 4 * stride, a40, a41); Store(ref o, 5 * stride, a50, a51); Store(ref o, 6 * stride, a60, a61); Store(ref o, 7 * stride, a70, a71);
            return;
        }
        for (var i = 0; i < n; i++)
        {
            Vector512<float> a0 = b0, a1 = b1;
            ref var xi = ref Unsafe.Add(ref xr, i * h);
            for (var k = 0; k < h; k++)
            {
                var s = Vector512.Create(Unsafe.Add(ref xi, k));
                a0 = Vector512.FusedMultiplyAdd(s, Vector512.LoadUnsafe(ref w, (nuint)(k * Panel)), a0);
                a1 = Vector512.FusedMultiplyAdd(s, Vector512.LoadUnsafe(ref w, (nuint)(k * Panel + 16)), a1);
            }
            Store(ref y[i * stride], 0, a0, a1);
        }
    }

    private static void Store(ref float o, int offset, Vector512<float> lo, Vector512<float> hi)
    {
        lo.StoreUnsafe(ref o, (nuint)offset);
        hi.StoreUnsafe(ref o, (nuint)(offset + 16));
    }
}
