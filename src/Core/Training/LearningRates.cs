using static TorchSharp.torch;

namespace RnnLmService.Core.Training;

/// <summary>The learning rate of one step, and the sequence length of one batch with variable BPTT.</summary>
public static class LearningRates
{
    /// <summary>
    /// The factor on the (plateau-annealed) base rate at optimizer step <paramref name="step"/> (0-based): linear warm-up
    /// over <see cref="TrainingOptions.WarmupSteps"/>, then for <see cref="LearningRateSchedule.Cosine"/> a half cosine
    /// from 1 to <see cref="TrainingOptions.MinLearningRateFraction"/> over the rest of the plan. <paramref name="progress"/>
    /// is the fraction of the run done (steps or time, see <see cref="Progress"/>).
    /// </summary>
    public static double Factor(TrainingOptions o, long step, double progress)
    {
        var f = 1.0;
        if (o.WarmupSteps > 0 && step < o.WarmupSteps) f *= (step + 1) / (double)o.WarmupSteps;
        if (o.Schedule == LearningRateSchedule.Cosine)
        {
            var p = Math.Clamp(progress, 0, 1);
            f *= o.MinLearningRateFraction + (1 - o.MinLearningRateFraction) * 0.5 * (1 + Math.Cos(Math.PI * p));
        }
        return f;
    }

    /// <summary>
    /// How far the cosine has gone at <paramref name="step"/>: steps after warm-up over the planned steps after warm-up
    /// (the plan is maxSteps, or epochs × steps per epoch, whichever is smaller); with a time budget, the larger of that
    /// and the fraction of <see cref="TrainingOptions.MaxMinutes"/> used, so the decay ends when the budget does.
    /// </summary>
    public static double Progress(TrainingOptions o, long step, long plannedSteps, double secondsTrained)
    {
        var span = Math.Max(1, plannedSteps - o.WarmupSteps);
        var p = Math.Max(0, step - o.WarmupSteps) / (double)span;
        if (o.MaxMinutes is { } minutes) p = Math.Max(p, secondsTrained / (minutes * 60));
        return Math.Min(1, p);
    }

    /// <summary>
    /// AWD-LSTM's variable BPTT: the base length is bptt with probability 0.95, else bptt/2; the length is drawn around it
    /// from N(base, 5), kept within [min(5, bptt), bptt + 20]. Drawn from the torch generator so a checkpoint resumes it.
    /// </summary>
    public static int SequenceLength(int bptt)
    {
        using var u = rand(1, dtype: ScalarType.Float64);
        using var z = randn(1, dtype: ScalarType.Float64);
        var baseLength = u.item<double>() < 0.95 ? bptt : bptt / 2.0;
        var length = (int)Math.Round(baseLength + 5 * z.item<double>());
        return Math.Clamp(length, Math.Min(5, bptt), bptt + 20);
    }
}
