using RnnLmService.Core.Modeling;
using static TorchSharp.torch;

namespace RnnLmService.Core.Inference;

/// <summary>What scoring reads out at every (position, sequence) of a padded batch, as flat (T × B) arrays.</summary>
internal sealed record ScoredPositions(int Batch, double[] LogProbability, int[] Rank, double[] Entropy, long[] TopIds, double[] TopLogProbabilities, int TopK);

/// <summary>
/// Scores right-padded sequences in time chunks: each chunk of at most <c>ScoreChunkElements</c> logits is decoded,
/// and the target's log-probability (logit − logsumexp), its rank, the entropy and the top-k are read from it as
/// tensor operations; no (T × V) log-softmax of the whole text exists at once. The state is carried between chunks.
/// </summary>
internal static class TextScorer
{
    /// <summary>(T, B) inputs and targets, flat in time-major order; padded positions are read and ignored by the caller.</summary>
    public static ScoredPositions Run(RnnLanguageModel net, long[] inputs, long[] targets, int steps, int batch, int topK, InferenceLimits limits)
    {
        var v = net.VocabularySize;
        var window = (int)Math.Clamp(limits.ScoreChunkElements / ((long)batch * v), 1, Math.Max(1, limits.ChunkTokens / batch));
        var n = steps * batch;
        var result = new ScoredPositions(batch, new double[n], new int[n], new double[n], new long[n * topK], new double[n * topK], topK);
        using var outer = NewDisposeScope();
        var state = net.InitialState(batch);
        for (var t0 = 0; t0 < steps; t0 += window)
        {
            var len = Math.Min(window, steps - t0);
            using var scope = NewDisposeScope();
            var input = tensor(inputs.AsSpan(t0 * batch, len * batch).ToArray(), [len, batch]);          // (T', B)
            var target = tensor(targets.AsSpan(t0 * batch, len * batch).ToArray(), [len, batch, 1]);
            var (output, next) = net.Recur(input, state);
            state.Dispose();
            state = next.MoveToOuterDisposeScope();
            var logits = net.Decode(output).to_type(ScalarType.Float64);                                  // (T', B, V)
            var logZ = logits.logsumexp(-1, keepdim: true);                                               // (T', B, 1)
            var picked = logits.gather(2, target);                                                        // (T', B, 1)
            var logProbability = (picked - logZ).squeeze(2);
            var rank = (logits > picked).sum(-1) + 1;                                                      // ties count in the token's favour
            var entropy = logZ.squeeze(2) - (logits - logZ).exp().mul(logits).sum(-1);                    // H = log Z − Σ p·logit
            Copy(logProbability, result.LogProbability, t0 * batch);
            Copy(entropy, result.Entropy, t0 * batch);
            rank.to_type(ScalarType.Int32).contiguous().data<int>().CopyTo(result.Rank, t0 * batch);
            if (topK > 0)
            {
                var (values, ids) = logits.topk(topK, -1);                                                 // (T', B, k), sorted
                Copy(values - logZ, result.TopLogProbabilities, t0 * batch * topK);
                ids.contiguous().data<long>().CopyTo(result.TopIds, t0 * batch * topK);
            }
        }
        return result;
    }

    private static void Copy(Tensor values, double[] into, int offset) => values.contiguous().data<double>().CopyTo(into, offset);
}
