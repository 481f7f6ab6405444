using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RnnLmService.Core.Training;

/// <summary>Why a run ended (<see cref="TrainingMetrics.StopReason"/>).</summary>
public static class StopReasons
{
    /// <summary>All epochs ran.</summary>
    public const string Epochs = "epochs";
    /// <summary>Early stopping: validation did not improve for <see cref="TrainingOptions.Patience"/> epochs.</summary>
    public const string Patience = "patience";
    /// <summary>The <see cref="TrainingOptions.MaxSteps"/> budget.</summary>
    public const string MaxSteps = "maxSteps";
    /// <summary>The <see cref="TrainingOptions.MaxMinutes"/> budget.</summary>
    public const string MaxMinutes = "maxMinutes";
}

/// <summary>The epoch/batch loop of <see cref="Trainer"/>, with the mutable run state in one place so checkpoints capture all of it.</summary>
internal sealed class TrainingLoop(TrainingOptions o, TrainingRunContext context, RnnLanguageModel model, OptimizerHelper optimizer, TokenStreams train, PreparedCorpus corpus, int stepsPerEpoch) : IDisposable
{
    public required CheckpointState State;
    public byte[]? Best;
    public RnnState? Hidden;
    /// <summary>NT-ASGD's running average, once it switched.</summary>
    public WeightAverager? Averager;

    private readonly Stopwatch clock = new();
    private readonly long plannedSteps = Math.Min(o.MaxSteps ?? long.MaxValue, (long)o.Epochs * stepsPerEpoch);
    private double appliedLearningRate = double.NaN;

    /// <summary>Runs the remaining epochs; returns the <see cref="StopReasons"/> value that ended the run.</summary>
    public string Run()
    {
        clock.Start();
        var windowClock = Stopwatch.StartNew();
        long windowTokens = 0;
        var streamLength = train.Steps;
        if (State.ValidHistory.Count > 0 && o.Patience > 0 && State.EpochsWithoutImprovement >= o.Patience)
            return Finish(StopReasons.Patience);                             // resumed from the checkpoint written at an early stop
        for (var epoch = State.Epoch; epoch < o.Epochs; epoch++)
        {
            model.train();
            if (State.Batch == 0) { Hidden?.Dispose(); Hidden = null; }
            Hidden ??= model.InitialState(train.Streams);
            using var epochLoss = tensor(State.EpochLossSum, dtype: float64);
            using var windowLoss = tensor(State.WindowLossSum, dtype: float64);
            var windowBatches = State.WindowBatches;
            // Checkpoints before variable BPTT carried only the batch index: with a fixed length it gives the position.
            var position = State.Position > 0 || State.Batch == 0 ? State.Position : State.Batch * o.Bptt;
            var b = State.Batch;
            while (position < streamLength - 1)
            {
                if (context.Cancellation.IsCancellationRequested)
                {
                    if (context.CheckpointOnCancel) Save(epoch, b, position, epochLoss, windowLoss, windowBatches);
                    context.Cancellation.ThrowIfCancellationRequested();
                }
                if (b > State.Batch && context.CheckpointNow?.Invoke() == true)
                    Save(epoch, b, position, epochLoss, windowLoss, windowBatches);
                if (BudgetReached() is { } reason)
                {
                    // Checkpointed first: a crash in the final validation, test or saving resumes here, not a checkpoint back.
                    if (b > State.Batch) Save(epoch, b, position, epochLoss, windowLoss, windowBatches);
                    if (b > 0) Validate(epoch + 1, endOfEpoch: false);
                    return Finish(reason);
                }

                var length = o.VariableBptt ? LearningRates.SequenceLength(o.Bptt) : o.Bptt;
                var lr = StepLearningRate(length);
                var tokens = Step(position, length, epochLoss, windowLoss);
                position += length;
                b++;
                windowBatches++;
                windowTokens += tokens;
                State = State with { GlobalStep = State.GlobalStep + 1, TokensDone = State.TokensDone + tokens };
                context.StepCompleted?.Invoke(model);

                if (windowBatches >= context.ReportEverySteps || position >= streamLength - 1)
                {
                    var secs = Math.Max(1e-9, windowClock.Elapsed.TotalSeconds);
                    context.Progress?.Invoke(new TrainingProgress(ProgressKind.Step, epoch + 1, Math.Min(b, stepsPerEpoch), stepsPerEpoch, State.GlobalStep, ReportedTotalSteps(),
                        windowLoss.item<double>() / windowBatches, lr, windowTokens / secs, null, BestPerplexity()));
                    windowLoss.zero_();
                    windowBatches = 0;
                    windowTokens = 0;
                    windowClock.Restart();
                }
            }

            var epochMean = epochLoss.item<double>() / Math.Max(1, b);
            var (validLoss, improved) = Validate(epoch + 1, endOfEpoch: true);
            var lrAfter = State.LearningRate;
            context.Logger?.LogInformation("Epoch {Epoch}: train loss {Loss:F3}, valid ppl {Valid:F2}, lr {Lr}", epoch + 1, epochMean, Math.Exp(validLoss), lrAfter);
            context.Progress?.Invoke(new TrainingProgress(ProgressKind.Epoch, epoch + 1, stepsPerEpoch, stepsPerEpoch, State.GlobalStep, ReportedTotalSteps(),
                epochMean, lrAfter, State.TokensDone / Math.Max(1e-9, TrainedSeconds()), Math.Exp(validLoss), BestPerplexity()));

            var stop = !improved && o.Patience > 0 && State.EpochsWithoutImprovement >= o.Patience;
            // Also after the last epoch and at an early stop: a crash in the final evaluation or saving resumes there.
            if (context.CheckpointDirectory is not null)
            {
                Hidden?.Dispose();
                Hidden = null;
                SaveState();
            }
            if (stop) return Finish(StopReasons.Patience);
        }
        return Finish(StopReasons.Epochs);
    }

    private string? BudgetReached() =>
        o.MaxSteps is { } steps && State.GlobalStep >= steps ? StopReasons.MaxSteps
        : o.MaxMinutes is { } minutes && TrainedSeconds() >= minutes * 60 ? StopReasons.MaxMinutes
        : null;

    private double TrainedSeconds() => State.SecondsDone + clock.Elapsed.TotalSeconds;

    /// <summary>
    /// The steps a progress report announces: the planned steps, or under a time budget (<c>maxMinutes</c>) the steps the
    /// budget holds at the pace so far, when fewer (a budget run plans 1,000 epochs it will never reach).
    /// </summary>
    private long ReportedTotalSteps()
    {
        if (o.MaxMinutes is not { } minutes || State.GlobalStep == 0) return plannedSteps;
        var seconds = TrainedSeconds();
        if (seconds <= 0) return plannedSteps;
        var atThisPace = (long)Math.Ceiling(State.GlobalStep * minutes * 60 / seconds);
        return Math.Clamp(atThisPace, State.GlobalStep, plannedSteps);
    }

    /// <summary>
    /// Validates (with NT-ASGD's averages when it has switched), keeps the model when it is the best so far, and at an
    /// epoch end anneals on a plateau or triggers NT-ASGD's switch. Returns the loss and whether it improved.
    /// </summary>
    private (double Loss, bool Improved) Validate(int epochNumber, bool endOfEpoch)
    {
        double validLoss;
        var improved = false;
        using (Averager is { Count: > 0 } averager ? averager.SwapIn() : null)
        {
            validLoss = Evaluator.MeanLoss(model, corpus.Valid, o.EvalBatchSize, o.Bptt, "valid");
            improved = State.BestValidLoss is null || validLoss < State.BestValidLoss;
            if (improved)
            {
                using var ms = new MemoryStream();
                model.save(ms);
                Best = ms.ToArray();
            }
        }
        var anneal = endOfEpoch && !improved && o.Schedule == LearningRateSchedule.Plateau && o.Optimizer != OptimizerKind.NtAsgd;
        var lossHistory = State.ValidHistory.Select(p => Math.Log(p)).ToList();
        if (endOfEpoch && o.Optimizer == OptimizerKind.NtAsgd && Averager is null && WeightAverager.ShouldSwitch(lossHistory, validLoss, o.NonmonoInterval))
        {
            Averager = new WeightAverager(model.UniqueParameters());
            State = State with { AveragingStartStep = State.GlobalStep };
            context.Logger?.LogInformation("NT-ASGD: validation stalled after epoch {Epoch}; averaging weights from step {Step}", epochNumber, State.GlobalStep);
        }
        State = State with
        {
            Epoch = endOfEpoch ? epochNumber : State.Epoch,
            Batch = endOfEpoch ? 0 : State.Batch,
            Position = endOfEpoch ? 0 : State.Position,
            BestValidLoss = improved ? validLoss : State.BestValidLoss,
            EpochsWithoutImprovement = improved ? 0 : State.EpochsWithoutImprovement + (endOfEpoch ? 1 : 0),
            LearningRate = anneal ? State.LearningRate / o.AnnealFactor : State.LearningRate,
            ValidHistory = [.. State.ValidHistory, Math.Exp(validLoss)],
            EpochLossSum = endOfEpoch ? 0 : State.EpochLossSum,
            WindowLossSum = endOfEpoch ? 0 : State.WindowLossSum,
            WindowBatches = endOfEpoch ? 0 : State.WindowBatches,
        };
        if (anneal) StepLearningRate(o.Bptt);
        return (validLoss, improved);
    }

    /// <summary>Sets the optimizer's rate for the next step: the annealed base × warm-up/cosine × length/bptt with variable BPTT.</summary>
    private double StepLearningRate(int length)
    {
        var lr = State.LearningRate * LearningRates.Factor(o, State.GlobalStep, LearningRates.Progress(o, State.GlobalStep, plannedSteps, TrainedSeconds()));
        if (o.VariableBptt) lr *= length / (double)o.Bptt;   // AWD-LSTM: longer windows take proportionally larger steps
        if (lr != appliedLearningRate)
        {
            Trainer.SetLearningRate(optimizer, lr);
            appliedLearningRate = lr;
        }
        return lr;
    }

    private string Finish(string reason)
    {
        State = State with { SecondsDone = TrainedSeconds() };
        clock.Reset();
        return reason;
    }

    /// <summary>
    /// One optimizer step on the window at <paramref name="position"/>: the streams cut into
    /// <see cref="TrainingOptions.GradientAccumulation"/> micro-batches whose gradients add up (each loss weighted 1/k, so
    /// the sum is the full batch's mean), one weight-drop mask for the whole batch, AR/TAR on the last layer, then
    /// clipping, the step and NT-ASGD's average. Returns the tokens trained on.
    /// </summary>
    private long Step(int position, int length, Tensor epochLoss, Tensor windowLoss)
    {
        using var scope = NewDisposeScope();
        var (input, target) = train.GetBatch(position, length);                       // (t, B), (t*B)
        var (t, streams) = (input.shape[0], input.shape[1]);
        var k = o.GradientAccumulation;
        var micro = streams / k;
        var keepOutput = o.ActivationRegularization > 0 || o.TemporalActivationRegularization > 0;
        optimizer.zero_grad();
        using var batchLoss = tensor(0.0, dtype: float64);
        var states = new List<RnnState>(k);
        using (var weightDrop = model.BeginWeightDrop())
        {
            for (var j = 0; j < k; j++)
            {
                var x = k == 1 ? input : input.narrow(1, j * micro, micro);                      // (t, b)
                var y = k == 1 ? target : target.view(t, streams).narrow(1, j * micro, micro).reshape(-1);
                var carried = (k == 1 ? Hidden! : Hidden!.Narrow(j * micro, micro)).Detach();   // cut the graph at the window edge
                var r = model.ForwardLoss(x, carried, y, keepOutput);                            // full or adaptive softmax
                var loss = r.Loss;
                var objective = loss;
                if (o.ActivationRegularization > 0)
                    objective = objective + r.DroppedOutput!.pow(2).mean() * o.ActivationRegularization;
                if (o.TemporalActivationRegularization > 0 && t > 1)
                    objective = objective + (r.Output!.narrow(0, 1, t - 1) - r.Output!.narrow(0, 0, t - 1)).pow(2).mean() * o.TemporalActivationRegularization;
                (k == 1 ? objective : objective / k).backward();
                using (no_grad()) batchLoss.add_(loss.detach().to_type(float64) / k);
                states.Add(r.State);
            }
            weightDrop?.MaskGradients();
        }   // raw hidden-to-hidden weights back before clipping and the step
        if (o.Clip > 0) nn.utils.clip_grad_norm_(model.UniqueParameters(), o.Clip);
        optimizer.step();
        Averager?.Update();
        using (no_grad())
        {
            epochLoss.add_(batchLoss);
            windowLoss.add_(batchLoss);
        }
        var next = (k == 1 ? states[0] : RnnState.Concat(states)).Detach().MoveToOuterDisposeScope();
        Hidden!.Dispose();
        Hidden = next;
        return t * streams;
    }

    private double? BestPerplexity() => State.BestValidLoss is { } l ? Math.Exp(l) : null;

    private void Save(int epoch, int batch, int position, Tensor epochLoss, Tensor windowLoss, int windowBatches)
    {
        if (context.CheckpointDirectory is null) return;
        State = State with
        {
            Epoch = epoch,
            Batch = batch,
            Position = position,
            EpochLossSum = epochLoss.item<double>(),
            WindowLossSum = windowLoss.item<double>(),
            WindowBatches = windowBatches,
        };
        SaveState();
    }

    private void SaveState()
    {
        State = State with { SecondsDone = TrainedSeconds() };
        clock.Restart();
        Checkpoint.Save(context.CheckpointDirectory!, State, new Checkpoint.Parts(model, Best, optimizer, State.Batch == 0 ? null : Hidden, corpus.Vocabulary, Averager, (corpus.Tokenizer as BpeTokenizer)?.Merges));
        context.Checkpointed?.Invoke(new ResumeInfo(State.Epoch + 1, State.Batch, State.GlobalStep));
    }

    /// <inheritdoc />
    public void Dispose() => Averager?.Dispose();
}
