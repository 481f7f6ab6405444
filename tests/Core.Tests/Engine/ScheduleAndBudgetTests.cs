using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Tests.Engine;

/// <summary>Learning-rate schedules, per-optimizer defaults, gradient accumulation, variable BPTT and step/time budgets.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class ScheduleAndBudgetTests
{
    [Fact]
    public void Warm_up_then_cosine_gives_the_planned_rates()
    {
        var o = new TrainingOptions { Schedule = LearningRateSchedule.Cosine, WarmupSteps = 10, MinLearningRateFraction = 0.1 };
        double At(long step) => LearningRates.Factor(o, step, LearningRates.Progress(o, step, plannedSteps: 110, secondsTrained: 0));
        Assert.Equal(0.1, At(0), 9);      // 1/10 of the way up
        Assert.Equal(0.5, At(4), 9);
        Assert.Equal(1.0, At(9), 9);      // warm-up done
        Assert.Equal(1.0, At(10), 9);     // cosine starts at the top
        Assert.Equal(0.55, At(60), 9);    // half way: (1 + 0.1) / 2
        Assert.Equal(0.1, At(110), 9);    // the floor at the end of the plan
        Assert.Equal(0.1, At(500), 9);    // and after it
        // With a time budget the cosine follows the larger of step and time progress.
        var timed = o with { MaxMinutes = 10 };
        Assert.Equal(0.55, LearningRates.Factor(timed, 20, LearningRates.Progress(timed, 20, 110, secondsTrained: 300)), 9);
        // The plateau schedule has no factor besides warm-up.
        Assert.Equal(1.0, LearningRates.Factor(new TrainingOptions(), 1000, 0.7), 9);
    }

    [Fact]
    public void The_trainer_applies_the_schedule_step_by_step()
    {
        var spec = TinyCorpora.SmallSpec(epochs: 1) with
        {
            Training = TinyCorpora.SmallSpec().Training with
            {
                Optimizer = OptimizerKind.AdamW, LearningRate = 0.01, Schedule = LearningRateSchedule.Cosine, WarmupSteps = 4, Epochs = 1, MaxSteps = 12,
            },
        };
        var rates = new Dictionary<long, double>();
        using var result = TinyCorpora.Train(spec, TinyCorpora.CycleSplits(), progress: p => { if (p.Kind == ProgressKind.Step) rates[p.GlobalStep] = p.LearningRate; }, reportEvery: 1);
        // Reported after step g is the rate step g ran at (0-based step g - 1); the plan is the 12-step budget.
        Assert.Equal(0.01 * 0.25, rates[1], 9);
        Assert.Equal(0.01, rates[4], 9);
        Assert.Equal(0.01 * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 4 / 8.0))), rates[9], 9);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, 20)]
    [InlineData(OptimizerKind.NtAsgd, 30)]
    [InlineData(OptimizerKind.Adam, 0.002)]
    [InlineData(OptimizerKind.AdamW, 0.002)]
    public void The_learning_rate_defaults_per_optimizer_and_an_explicit_one_wins(OptimizerKind optimizer, double expected)
    {
        Assert.Equal(expected, new TrainingOptions { Optimizer = optimizer }.LearningRate);
        Assert.Equal(0.5, new TrainingOptions { LearningRate = 0.5, Optimizer = optimizer }.LearningRate);
        Assert.Equal(new Trainer(new TrainingSpec { Training = new TrainingOptions { Optimizer = optimizer } }).Spec.Training,
            new TrainingOptions { Optimizer = optimizer, LearningRate = expected });
    }

    [Fact]
    public void Gradient_accumulation_of_k_micro_batches_equals_one_batch_of_k_times_the_streams()
    {
        var splits = TinyCorpora.CycleSplits();
        var spec = TinyCorpora.SmallSpec(epochs: 1) with
        {
            Training = TinyCorpora.SmallSpec().Training with { Optimizer = OptimizerKind.Sgd, LearningRate = 1, Epochs = 1, BatchSize = 8 },
        };
        using var whole = TinyCorpora.Train(spec, splits);
        using var accumulated = TinyCorpora.Train(spec with { Training = spec.Training with { GradientAccumulation = 4 } }, splits);
        Assert.True(accumulated.Model.StepsRun > whole.Model.StepsRun, "the accumulated run made more, smaller forward passes");
        Assert.Equal(whole.Metrics.Steps, accumulated.Metrics.Steps);
        ResumeTests.AssertSameWeights(whole.Model, accumulated.Model, 1e-4);
    }

    [Fact]
    public void Max_steps_stops_after_exactly_that_many_steps_then_validates_and_saves()
    {
        var splits = TinyCorpora.CycleSplits();
        var spec = TinyCorpora.SmallSpec(epochs: 5);
        using var full = TinyCorpora.Train(spec with { Training = spec.Training with { Epochs = 1 } }, splits);
        var stopAt = full.Metrics.Steps + full.Metrics.Steps / 2;                            // in the middle of epoch 2
        using var result = TinyCorpora.Train(spec with { Training = spec.Training with { MaxSteps = stopAt } }, splits);
        Assert.Equal(stopAt, result.Metrics.Steps);
        Assert.Equal(StopReasons.MaxSteps, result.Metrics.StopReason);
        Assert.False(result.Metrics.StoppedEarly);
        Assert.Equal(2, result.Metrics.ValidPerplexityHistory.Count);                        // epoch 1, then the part-epoch at the stop
        Assert.True(double.IsFinite(result.Metrics.TestPerplexity));

        using var dir = new TempDir();
        ModelArtifacts.Save(dir.Sub("m/1"), "m", 1, result);
        var (manifest, loaded, _) = ModelArtifacts.Load(dir.Sub("m/1"));
        using (loaded) Assert.Equal(stopAt, manifest.Metrics.Steps);
    }

    [Fact]
    public void Max_minutes_ends_the_run_at_a_batch_boundary_with_a_model()
    {
        var spec = TinyCorpora.SmallSpec(epochs: 50);
        using var result = TinyCorpora.Train(spec with { Training = spec.Training with { MaxMinutes = 0.02 } }, TinyCorpora.CycleSplits());
        Assert.Equal(StopReasons.MaxMinutes, result.Metrics.StopReason);
        Assert.True(result.Metrics.Steps > 0);
        Assert.True(result.Metrics.ValidPerplexityHistory.Count < 50);
        Assert.True(double.IsFinite(result.Metrics.TestPerplexity));
    }

    [Fact]
    public void Under_a_time_budget_progress_announces_the_steps_the_budget_holds_not_the_planned_epochs()
    {
        var spec = TinyCorpora.SmallSpec(epochs: 1000);
        var reports = new List<TrainingProgress>();
        using var result = TinyCorpora.Train(spec with { Training = spec.Training with { MaxMinutes = 0.02 } }, TinyCorpora.CycleSplits(),
            progress: reports.Add, reportEvery: 2);
        Assert.Equal(StopReasons.MaxMinutes, result.Metrics.StopReason);
        var last = reports.Last(r => r.Kind == ProgressKind.Step);
        var planned = 1000L * last.StepsPerEpoch;
        Assert.InRange(last.TotalSteps, last.GlobalStep, planned / 10);                     // an estimate near what the budget holds
        Assert.InRange(last.TotalSteps, result.Metrics.Steps / 3, result.Metrics.Steps * 3);

        // Without a budget the plan is announced as it is.
        var planReports = new List<TrainingProgress>();
        using var planned2 = TinyCorpora.Train(TinyCorpora.SmallSpec(epochs: 2), TinyCorpora.CycleSplits(), progress: planReports.Add, reportEvery: 2);
        Assert.All(planReports, r => Assert.Equal(2L * r.StepsPerEpoch, r.TotalSteps));
    }

    [Fact]
    public void Variable_bptt_draws_lengths_around_bptt_and_sometimes_half()
    {
        TorchSharp.torch.manual_seed(1);
        var lengths = Enumerable.Range(0, 2000).Select(_ => LearningRates.SequenceLength(70)).ToList();
        Assert.All(lengths, l => Assert.InRange(l, 5, 90));
        Assert.InRange(lengths.Average(), 66.0, 70.0);                                      // 0.95·70 + 0.05·35 = 68.25
        Assert.InRange(lengths.Count(l => l < 50) / 2000.0, 0.02, 0.09);                    // the bptt/2 draws
        Assert.True(lengths.Distinct().Count() > 15);
    }
}
