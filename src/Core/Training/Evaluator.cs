using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Training;

/// <summary>Mean cross-entropy (nats per token) of a model over a split, in eval mode without gradients.</summary>
public static class Evaluator
{
    /// <summary>Loss over <paramref name="ids"/> batched into <paramref name="batchSize"/> streams of <paramref name="bptt"/> windows.</summary>
    public static double MeanLoss(RnnLanguageModel model, long[] ids, int batchSize, int bptt, string field)
    {
        using var source = new ArrayTokenIds(ids);
        return MeanLoss(model, source, batchSize, bptt, field);
    }

    /// <summary>Loss over <paramref name="ids"/> (in memory or mapped) batched into <paramref name="batchSize"/> streams of <paramref name="bptt"/> windows.</summary>
    public static double MeanLoss(RnnLanguageModel model, ITokenIds ids, int batchSize, int bptt, string field)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var outer = NewDisposeScope();
            // With few tokens, fewer streams: evaluation must not fail for lack of rows.
            var streams = (int)Math.Max(1, Math.Min(batchSize, (ids.Count - 1) / 2));
            var source = new TokenStreams(ids, streams, field);                       // (T, B), read a window at a time
            var hidden = model.InitialState(streams);
            var total = zeros(1, dtype: float64);
            long count = 0;
            for (long i = 0; i < source.Steps - 1; i += bptt)
            {
                using var scope = NewDisposeScope();
                var (input, target) = source.GetBatch(i, bptt);                       // (t, B), (t*B)
                var (logits, next) = model.call(input, hidden);                       // (t, B, V)
                var loss = nn.functional.cross_entropy(logits.view(-1, model.VocabularySize), target, reduction: nn.Reduction.Sum);
                total.add_(loss);
                count += target.shape[0];
                hidden = next.MoveToOuterDisposeScope();
            }
            return total.item<double>() / Math.Max(1, count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
