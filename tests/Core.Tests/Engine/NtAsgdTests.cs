using RnnLmService.Core.Modeling;
using RnnLmService.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>Non-monotonically triggered averaged SGD: when it switches, and that the kept model is the average.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class NtAsgdTests
{
    [Fact]
    public void The_trigger_is_a_loss_worse_than_the_best_before_the_last_n_checks()
    {
        Assert.False(WeightAverager.ShouldSwitch([5, 4, 3], 2.5, 2));        // still improving
        Assert.False(WeightAverager.ShouldSwitch([5, 4], 4.5, 2));           // not enough checks yet
        Assert.False(WeightAverager.ShouldSwitch([5, 4, 4.2], 4.5, 2));      // better than the best before the last 2 (5)
        Assert.False(WeightAverager.ShouldSwitch([3, 4, 4.2], 2.9, 2));      // better than the best long ago
        Assert.True(WeightAverager.ShouldSwitch([3, 2, 2.1], 3.1, 2));       // worse than the best before the last 2 (3)
        Assert.True(WeightAverager.ShouldSwitch([3], 3.5, 0));               // n = 0: the first check that does not improve
    }

    [Fact]
    public void The_average_is_the_mean_of_the_weights_after_each_step()
    {
        using var p = new TorchSharp.Modules.Parameter(zeros(3));
        using var averager = new WeightAverager([p]);
        foreach (var v in new[] { 1f, 2f, 6f })
        {
            using (no_grad()) p.fill_(v);
            averager.Update();
        }
        Assert.Equal(3, averager.Count);
        Assert.True(averager.Averages[0].allclose(full(3, 3f)));
        using (averager.SwapIn()) Assert.True(p.allclose(full(3, 3f)));
        Assert.True(p.allclose(full(3, 6f)), "the raw weights come back");
    }

    [Fact]
    public void NT_ASGD_switches_after_the_configured_stalled_checks_and_keeps_the_averaged_weights()
    {
        var spec = Spec();
        var snapshots = new List<Tensor[]>();
        using var result = new Trainer(spec).Run(TinyCorpora.CycleSplits(), new TrainingRunContext
        {
            TorchThreads = 1,
            StepCompleted = m => snapshots.Add(m.UniqueParameters().Select(p => p.detach().clone()).ToArray()),
        });

        var start = result.Metrics.AveragingStartStep;
        Assert.NotNull(start);
        // The switch came at the first epoch end where the rule held, judged on the raw (not yet averaged) losses.
        var losses = result.Metrics.ValidPerplexityHistory.Select(p => Math.Log(p)).ToList();
        var perEpoch = result.Metrics.Steps / spec.Training.Epochs;
        var switchEpoch = (int)(start.Value / perEpoch);                                     // epochs done at the switch
        Assert.Equal(start.Value, switchEpoch * perEpoch);
        Assert.True(WeightAverager.ShouldSwitch(losses[..(switchEpoch - 1)], losses[switchEpoch - 1], spec.Training.NonmonoInterval));
        for (var e = 1; e < switchEpoch; e++)
            Assert.False(WeightAverager.ShouldSwitch(losses[..(e - 1)], losses[e - 1], spec.Training.NonmonoInterval), $"no switch at epoch {e}");

        // The kept model is the mean of the weights after the steps from the switch up to some later step (the best check).
        var kept = result.Model.UniqueParameters().Select(p => p.detach()).ToArray();
        var sums = kept.Select(k => zeros_like(k)).ToArray();
        var matched = false;
        for (var s = (int)start.Value; s < snapshots.Count && !matched; s++)
        {
            for (var i = 0; i < sums.Length; i++) sums[i].add_(snapshots[s][i]);
            var n = s - start.Value + 1;
            matched = kept.Select((k, i) => k.allclose(sums[i] / n, rtol: 1e-4, atol: 1e-5)).All(x => x);
        }
        Assert.True(matched, "the saved weights are an average of the iterates since the switch");
        Assert.DoesNotContain(snapshots, snap => snap.Select((w, i) => w.allclose(kept[i])).All(x => x));
    }

    internal static TrainingSpec Spec() => TinyCorpora.SmallSpec(epochs: 8) with
    {
        Training = TinyCorpora.SmallSpec().Training with { Optimizer = OptimizerKind.NtAsgd, LearningRate = 40, Epochs = 8, NonmonoInterval = 1 },
    };
}
