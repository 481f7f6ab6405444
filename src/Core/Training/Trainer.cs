using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RnnLmService.Core.Training;

/// <summary>What a finished run hands over: the kept (best) model, its vocabulary and tokenizer, and the metrics.</summary>
public sealed class TrainingResult(RnnLanguageModel model, Vocabulary vocabulary, ITokenizer tokenizer, TrainingSpec spec, TrainingMetrics metrics, ResumeInfo? resumedFrom) : IDisposable
{
    /// <summary>The model with the best validation loss, in eval mode.</summary>
    public RnnLanguageModel Model { get; } = model;
    /// <summary>The vocabulary built from the training split.</summary>
    public Vocabulary Vocabulary { get; } = vocabulary;
    /// <summary>The tokenizer the corpus was read with.</summary>
    public ITokenizer Tokenizer { get; } = tokenizer;
    /// <summary>The spec of the run.</summary>
    public TrainingSpec Spec { get; } = spec;
    /// <summary>What the run measured.</summary>
    public TrainingMetrics Metrics { get; } = metrics;
    /// <summary>Where the run resumed from, if it did.</summary>
    public ResumeInfo? ResumedFrom { get; } = resumedFrom;
    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Truncated-BPTT training of an <see cref="RnnLanguageModel"/>: hidden state carried (detached) across batches,
/// gradient clipping, learning-rate annealing on validation plateaus, early stopping, the best model kept,
/// and checkpoints that resume the run exactly. Runs synchronously on the calling thread.
/// </summary>
public sealed class Trainer(TrainingSpec spec)
{
    /// <summary>The spec this trainer runs.</summary>
    public TrainingSpec Spec { get; } = spec;

    /// <summary>Trains on <paramref name="splits"/>; resumes from the context's checkpoint directory when it holds a state.</summary>
    public TrainingResult Run(CorpusSplits splits, TrainingRunContext context)
    {
        Spec.Validate();
        if (context.TorchThreads is { } threads) torch.set_num_threads(threads);
        var log = context.Logger;
        var o = Spec.Training;

        var resumeState = context.Resume && context.CheckpointDirectory is { } cd ? Checkpoint.ReadState(cd) : null;
        if (resumeState is not null && resumeState.Spec != Spec)
            throw new InvalidSettingException("checkpoint", "the checkpoint belongs to a run with other settings; delete it or use the same settings.");

        var corpus = resumeState is null
            ? Corpus.Build(splits, Spec.Tokenizer)
            : Corpus.Encode(splits, Tokenizers.ForTraining(Spec.Tokenizer, splits.Train), Checkpoint.ReadVocabulary(context.CheckpointDirectory!));
        var vocab = corpus.Vocabulary;

        torch.manual_seed(o.Seed);
        var model = new RnnLanguageModel(vocab.Count, Spec.Model);
        try
        {
            using var train = Batching.Batchify(corpus.Train, o.BatchSize, "batchSize");        // (T, B)
            if (corpus.Valid.Length < 2) throw new CorpusException("valid", "the validation split needs at least 2 tokens.");
            if (corpus.Test.Length < 2) throw new CorpusException("test", "the test split needs at least 2 tokens.");
            var stepsPerEpoch = Batching.BatchCount(train.shape[0], o.Bptt);
            var optimizer = CreateOptimizer(model, o);

            var state = resumeState ?? new CheckpointState { Spec = Spec, LearningRate = o.LearningRate };
            byte[]? best = null;
            RnnState? hidden = null;
            ResumeInfo? resumedFrom = null;
            if (resumeState is not null)
            {
                (best, hidden) = Checkpoint.Restore(context.CheckpointDirectory!, model, optimizer);
                resumedFrom = new ResumeInfo(state.Epoch + 1, state.Batch, state.GlobalStep);
                log?.LogInformation("Resuming at epoch {Epoch}, step {Step} (global step {GlobalStep})", resumedFrom.Epoch, resumedFrom.Step, resumedFrom.GlobalStep);
                context.Resumed?.Invoke(resumedFrom);
            }
            SetLearningRate(optimizer, state.LearningRate);

            var loop = new Loop(this, context, model, optimizer, train, corpus, stepsPerEpoch) { State = state, Best = best, Hidden = hidden };
            var stoppedEarly = loop.Run();

            // Keep the best model; report its test perplexity.
            if (loop.Best is not null) model.load(new MemoryStream(loop.Best));
            model.eval();
            var bestValidLoss = loop.State.BestValidLoss ?? Evaluator.MeanLoss(model, corpus.Valid, o.EvalBatchSize, o.Bptt, "valid");
            var test = Evaluator.Sum(model, corpus.Test, o.EvalBatchSize, o.Bptt, "test");
            var testLoss = test.MeanLoss;
            var (testCharacters, testWords) = corpus.TestMeasures.Scored(test.Streams);
            var parameters = model.UniqueParameters().Sum(p => p.numel());
            var s = loop.State;
            var metrics = new TrainingMetrics
            {
                BestValidPerplexity = Math.Exp(bestValidLoss),
                TestPerplexity = Math.Exp(testLoss),
                Epochs = s.ValidHistory.Count,
                Steps = s.GlobalStep,
                StoppedEarly = stoppedEarly,
                TrainTokens = corpus.Train.Length,
                ValidTokens = corpus.Valid.Length,
                TestTokens = corpus.Test.Length,
                VocabularySize = vocab.Count,
                ValidPerplexityHistory = s.ValidHistory,
                TokensPerSecond = s.SecondsDone > 0 ? s.TokensDone / s.SecondsDone : 0,
                TestBitsPerCharacter = test.Nats / Math.Log(2) / Math.Max(1, testCharacters),
                TestWordPerplexity = Math.Exp(test.Nats / Math.Max(1, testWords)),
                TestCharacters = testCharacters,
                TestWords = testWords,
                Parameters = parameters,
                ParameterBytes = model.UniqueParameters().Sum(p => p.numel() * p.ElementSize),
                TrainingSeconds = s.SecondsDone,
            };
            log?.LogInformation("Training done: best valid ppl {Valid:F2}, test ppl {Test:F2}", metrics.BestValidPerplexity, metrics.TestPerplexity);
            loop.Hidden?.Dispose();
            return new TrainingResult(model, vocab, corpus.Tokenizer, Spec, metrics, resumedFrom);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static OptimizerHelper CreateOptimizer(RnnLanguageModel model, TrainingOptions o)
    {
        var ps = model.UniqueParameters();
        return o.Optimizer switch
        {
            OptimizerKind.Adam => optim.Adam(ps, o.LearningRate, weight_decay: o.WeightDecay),
            OptimizerKind.AdamW => optim.AdamW(ps, o.LearningRate, weight_decay: o.WeightDecay),
            _ => optim.SGD(ps, o.LearningRate, weight_decay: o.WeightDecay),
        };
    }

    private static void SetLearningRate(OptimizerHelper optimizer, double lr)
    {
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
    }

    /// <summary>The epoch/batch loop, with the mutable run state in one place so checkpoints capture all of it.</summary>
    private sealed class Loop(Trainer owner, TrainingRunContext context, RnnLanguageModel model, OptimizerHelper optimizer, Tensor train, Corpus corpus, int stepsPerEpoch)
    {
        public required CheckpointState State;
        public byte[]? Best;
        public RnnState? Hidden;
        private readonly TrainingOptions o = owner.Spec.Training;

        /// <summary>Runs the remaining epochs; returns true when early stopping ended the run.</summary>
        public bool Run()
        {
            var totalSteps = (long)o.Epochs * stepsPerEpoch;
            var clock = Stopwatch.StartNew();
            var windowClock = Stopwatch.StartNew();
            long windowTokens = 0;
            for (var epoch = State.Epoch; epoch < o.Epochs; epoch++)
            {
                model.train();
                if (State.Batch == 0) { Hidden?.Dispose(); Hidden = null; }
                Hidden ??= model.InitialState(train.shape[1]);
                using var epochLoss = tensor(State.EpochLossSum, dtype: float64);
                using var windowLoss = tensor(State.WindowLossSum, dtype: float64);
                var windowBatches = State.WindowBatches;
                for (var b = State.Batch; b < stepsPerEpoch; b++)
                {
                    if (context.Cancellation.IsCancellationRequested)
                    {
                        if (context.CheckpointOnCancel) Save(epoch, b, epochLoss, windowLoss, windowBatches, clock);
                        context.Cancellation.ThrowIfCancellationRequested();
                    }
                    if (b > State.Batch && context.CheckpointNow?.Invoke() == true)
                        Save(epoch, b, epochLoss, windowLoss, windowBatches, clock);

                    var tokens = Step(b, epochLoss, windowLoss);
                    windowBatches++;
                    windowTokens += tokens;
                    State = State with { GlobalStep = State.GlobalStep + 1, TokensDone = State.TokensDone + tokens };

                    if (windowBatches >= context.ReportEverySteps || b == stepsPerEpoch - 1)
                    {
                        var secs = Math.Max(1e-9, windowClock.Elapsed.TotalSeconds);
                        context.Progress?.Invoke(new TrainingProgress(ProgressKind.Step, epoch + 1, b + 1, stepsPerEpoch, State.GlobalStep, totalSteps,
                            windowLoss.item<double>() / windowBatches, State.LearningRate, windowTokens / secs, null, BestPerplexity()));
                        windowLoss.zero_();
                        windowBatches = 0;
                        windowTokens = 0;
                        windowClock.Restart();
                    }
                }

                var epochMean = epochLoss.item<double>() / stepsPerEpoch;
                var validLoss = Evaluator.MeanLoss(model, corpus.Valid, o.EvalBatchSize, o.Bptt, "valid");
                var improved = State.BestValidLoss is null || validLoss < State.BestValidLoss;
                if (improved)
                {
                    using var ms = new MemoryStream();
                    model.save(ms);
                    Best = ms.ToArray();
                }
                var lr = improved ? State.LearningRate : State.LearningRate / o.AnnealFactor;
                State = State with
                {
                    Epoch = epoch + 1,
                    Batch = 0,
                    BestValidLoss = improved ? validLoss : State.BestValidLoss,
                    EpochsWithoutImprovement = improved ? 0 : State.EpochsWithoutImprovement + 1,
                    LearningRate = lr,
                    ValidHistory = [.. State.ValidHistory, Math.Exp(validLoss)],
                    EpochLossSum = 0,
                    WindowLossSum = 0,
                    WindowBatches = 0,
                };
                if (!improved) SetLearningRate(optimizer, lr);
                context.Logger?.LogInformation("Epoch {Epoch}: train loss {Loss:F3}, valid ppl {Valid:F2}, lr {Lr}", epoch + 1, epochMean, Math.Exp(validLoss), lr);
                context.Progress?.Invoke(new TrainingProgress(ProgressKind.Epoch, epoch + 1, stepsPerEpoch, stepsPerEpoch, State.GlobalStep, totalSteps,
                    epochMean, lr, State.TokensDone / Math.Max(1e-9, State.SecondsDone + clock.Elapsed.TotalSeconds), Math.Exp(validLoss), BestPerplexity()));

                var stop = o.Patience > 0 && State.EpochsWithoutImprovement >= o.Patience;
                if (context.CheckpointDirectory is not null && epoch + 1 < o.Epochs && !stop)
                {
                    Hidden?.Dispose();
                    Hidden = null;
                    SaveState(clock);
                }
                if (stop) return Finish(clock, stoppedEarly: true);
            }
            return Finish(clock, stoppedEarly: false);
        }

        private bool Finish(Stopwatch clock, bool stoppedEarly)
        {
            State = State with { SecondsDone = State.SecondsDone + clock.Elapsed.TotalSeconds };
            return stoppedEarly;
        }

        /// <summary>One truncated-BPTT step on batch <paramref name="b"/>; returns the tokens it trained on.</summary>
        private long Step(int b, Tensor epochLoss, Tensor windowLoss)
        {
            using var scope = NewDisposeScope();
            var (input, target) = Batching.GetBatch(train, b * o.Bptt, o.Bptt);        // (t, B), (t*B)
            var carried = Hidden!.Detach();                                               // cut the graph at the window edge
            optimizer.zero_grad();
            var (output, next) = model.Hidden(input, carried);                            // (t, B, H)
            var loss = model.TargetLogProbs(output.reshape(target.shape[0], -1), target).mean().neg();
            loss.backward();
            if (o.Clip > 0) nn.utils.clip_grad_norm_(model.UniqueParameters(), o.Clip);
            optimizer.step();
            using (no_grad())
            {
                var l = loss.detach().to_type(float64);
                epochLoss.add_(l);
                windowLoss.add_(l);
            }
            var detached = next.Detach().MoveToOuterDisposeScope();
            Hidden.Dispose();
            Hidden = detached;
            return target.shape[0];
        }

        private double? BestPerplexity() => State.BestValidLoss is { } l ? Math.Exp(l) : null;

        private void Save(int epoch, int batch, Tensor epochLoss, Tensor windowLoss, int windowBatches, Stopwatch clock)
        {
            if (context.CheckpointDirectory is null) return;
            State = State with
            {
                Epoch = epoch,
                Batch = batch,
                EpochLossSum = epochLoss.item<double>(),
                WindowLossSum = windowLoss.item<double>(),
                WindowBatches = windowBatches,
            };
            SaveState(clock);
        }

        private void SaveState(Stopwatch clock)
        {
            State = State with { SecondsDone = State.SecondsDone + clock.Elapsed.TotalSeconds };
            clock.Restart();
            Checkpoint.Save(context.CheckpointDirectory!, State, new Checkpoint.Parts(model, Best, optimizer, State.Batch == 0 ? null : Hidden, corpus.Vocabulary));
            context.Checkpointed?.Invoke(new ResumeInfo(State.Epoch + 1, State.Batch, State.GlobalStep));
        }
    }
}
