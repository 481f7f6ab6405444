using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Training;

/// <summary>What an evaluation summed: the negative log-likelihood of the scored targets and how many there were.</summary>
/// <param name="Nats">−Σ ln p(target) over the scored targets.</param>
/// <param name="Targets">Targets scored: every token of each stream after its first (the remainder of the split cut into streams is dropped).</param>
/// <param name="Streams">Streams the split was cut into (each <c>ids.Length / Streams</c> tokens long).</param>
public sealed record EvaluationSum(double Nats, long Targets, int Streams)
{
    /// <summary>Mean nats per scored target (the log of the token perplexity).</summary>
    public double MeanLoss => Nats / Math.Max(1, Targets);
}

/// <summary>Mean cross-entropy (nats per token) of a model over a split, in eval mode without gradients.</summary>
public static class Evaluator
{
    /// <summary>Loss over <paramref name="ids"/> batched into <paramref name="batchSize"/> streams of <paramref name="bptt"/> windows.</summary>
    public static double MeanLoss(RnnLanguageModel model, long[] ids, int batchSize, int bptt, string field) =>
        Sum(model, ids, batchSize, bptt, field).MeanLoss;

    /// <summary>Loss over <paramref name="ids"/> (in memory or mapped) batched into <paramref name="batchSize"/> streams of <paramref name="bptt"/> windows.</summary>
    public static double MeanLoss(RnnLanguageModel model, ITokenIds ids, int batchSize, int bptt, string field) =>
        Sum(model, ids, batchSize, bptt, field).MeanLoss;

    /// <summary>The summed loss over ids held in memory; see <see cref="Sum(RnnLanguageModel, ITokenIds, int, int, string)"/>.</summary>
    public static EvaluationSum Sum(RnnLanguageModel model, long[] ids, int batchSize, int bptt, string field)
    {
        using var source = new ArrayTokenIds(ids);
        return Sum(model, source, batchSize, bptt, field);
    }

    /// <summary>
    /// The summed loss over <paramref name="ids"/> (in memory or memory-mapped, read a window at a time): with few
    /// tokens, fewer streams than <paramref name="batchSize"/> (evaluation must not fail for lack of rows); see
    /// <see cref="EvaluationSum"/> for which targets count.
    /// </summary>
    public static EvaluationSum Sum(RnnLanguageModel model, ITokenIds ids, int batchSize, int bptt, string field)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var outer = NewDisposeScope();
            var streams = (int)Math.Max(1, Math.Min(batchSize, (ids.Count - 1) / 2));
            var source = new TokenStreams(ids, streams, field);                       // (T, B), read a window at a time
            var hidden = model.InitialState(streams);
            var total = zeros(1, dtype: float64);
            long count = 0;
            for (long i = 0; i < source.Steps - 1; i += bptt)
            {
                using var scope = NewDisposeScope();
                var (input, target) = source.GetBatch(i, bptt);                       // (t, B), (t*B)
                var (output, next) = model.Recur(input, hidden);                      // (t, B, H)
                var logProbs = model.TargetLogProbs(output.reshape(target.shape[0], -1), target); // (t*B)
                total.sub_(logProbs.sum().to_type(float64));
                count += target.shape[0];
                hidden = next.MoveToOuterDisposeScope();
            }
            return new EvaluationSum(total.item<double>(), count, streams);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
