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
/// gradient clipping, learning-rate annealing on validation plateaus or warm-up and cosine decay, early stopping,
/// step and time budgets, NT-ASGD, the best model kept, and checkpoints that resume the run exactly.
/// Runs synchronously on the calling thread; the batch loop is <see cref="TrainingLoop"/>.
/// </summary>
public sealed class Trainer(TrainingSpec spec)
{
    /// <summary>The spec this trainer runs, with defaults that depend on other fields written out.</summary>
    public TrainingSpec Spec { get; } = spec with { Training = spec.Training.Resolved() };

    /// <summary>
    /// Trains on <paramref name="splits"/> held in memory; resumes from the context's checkpoint directory when it holds a
    /// state. A warm start (<see cref="TrainingRunContext.WarmStart"/>) reads the text with its parent's tokenizer and
    /// vocabulary (a BPE parent's merges, never ones learnt from the new text); a resumed run with the checkpoint's.
    /// </summary>
    public TrainingResult Run(CorpusSplits splits, TrainingRunContext context)
    {
        ArgumentNullException.ThrowIfNull(splits);
        var resumed = context.Resume && context.CheckpointDirectory is { } cd && Checkpoint.ReadState(cd) is not null;
        var warm = resumed ? null : context.WarmStart;
        var corpus = resumed
            ? Corpus.Encode(splits, ResumeTokenizer(context, splits), Checkpoint.ReadVocabulary(context.CheckpointDirectory!))
            : warm is not null
                ? Corpus.Encode(splits, warm.Tokenizer, warm.Vocabulary)
                : Corpus.Build(splits, Spec.Tokenizer);
        using var prepared = PreparedCorpus.FromCorpus(corpus);
        return Run(prepared, context);
    }

    /// <summary>
    /// Trains on token ids (in memory or memory-mapped token files, read a window at a time); resumes from the context's
    /// checkpoint directory when it holds a state, which must have been written with the same vocabulary.
    /// </summary>
    public TrainingResult Run(PreparedCorpus corpus, TrainingRunContext context)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        Spec.Validate();
        if (context.TorchThreads is { } threads) torch.set_num_threads(threads);
        var log = context.Logger;
        var o = Spec.Training;

        var resumeState = context.Resume && context.CheckpointDirectory is { } cd ? Checkpoint.ReadState(cd) : null;
        if (resumeState is not null && resumeState.Spec != Spec)
            throw new InvalidSettingException("checkpoint", "the checkpoint belongs to a run with other settings; delete it or use the same settings.");
        if (resumeState is not null && !Checkpoint.ReadVocabulary(context.CheckpointDirectory!).Tokens.SequenceEqual(corpus.Vocabulary.Tokens))
            throw new InvalidSettingException("checkpoint", "the checkpoint was written with another vocabulary than the dataset's; delete it or use the same dataset.");

        // A warm start that has not checkpointed yet begins from its parent; after a checkpoint, from the checkpoint.
        var warm = resumeState is null ? context.WarmStart : null;
        if (resumeState is null && Spec.Init is not null && warm is null)
            throw new InvalidSettingException("init", $"the run starts from '{Spec.Init}', which is no longer available (deleted before the job started?).");
        warm?.CheckFits(Spec);
        if (warm is not null && !warm.Vocabulary.Tokens.SequenceEqual(corpus.Vocabulary.Tokens))
            throw new InvalidSettingException("init", "a warm start reads the text with its parent's vocabulary; these token ids were counted from the dataset (train it from the text in memory).");
        var vocab = corpus.Vocabulary;

        torch.manual_seed(o.Seed);
        var model = new RnnLanguageModel(vocab.Count, Spec.Model);
        try
        {
            var train = new TokenStreams(corpus.Train, o.BatchSize, "batchSize");              // (T, B), read a window at a time
            if (corpus.Valid.Count < 2) throw new CorpusException("valid", "the validation split needs at least 2 tokens.");
            if (corpus.Test.Count < 2) throw new CorpusException("test", "the test split needs at least 2 tokens.");
            double? initialValidLoss = null;
            if (warm is not null)
            {
                warm.LoadInto(model);
                initialValidLoss = Evaluator.MeanLoss(model, corpus.Valid, o.EvalBatchSize, o.Bptt, "valid");
                log?.LogInformation("Warm start from {Parent}: validation perplexity {Ppl:F2} before the first step", warm.Parent, Math.Exp(initialValidLoss.Value));
            }
            var stepsPerEpoch = Batching.BatchCount(train.Steps, o.Bptt);
            var optimizer = CreateOptimizer(model, o);

            var state = resumeState ?? new CheckpointState { Spec = Spec, LearningRate = o.LearningRate, InitialValidLoss = initialValidLoss };
            byte[]? best = null;
            RnnState? hidden = null;
            ResumeInfo? resumedFrom = null;
            WeightAverager? averager = state.AveragingStartStep is null ? null : new WeightAverager(model.UniqueParameters());
            if (resumeState is not null)
            {
                (best, hidden) = Checkpoint.Restore(context.CheckpointDirectory!, model, optimizer, averager);
                resumedFrom = new ResumeInfo(state.Epoch + 1, state.Batch, state.GlobalStep);
                log?.LogInformation("Resuming at epoch {Epoch}, step {Step} (global step {GlobalStep})", resumedFrom.Epoch, resumedFrom.Step, resumedFrom.GlobalStep);
                context.Resumed?.Invoke(resumedFrom);
            }
            SetLearningRate(optimizer, state.LearningRate);

            using var loop = new TrainingLoop(Spec.Training, context, model, optimizer, train, corpus, stepsPerEpoch)
            {
                State = state, Best = best, Hidden = hidden, Averager = averager,
            };
            var stopReason = loop.Run();

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
                StoppedEarly = stopReason == StopReasons.Patience,
                StopReason = stopReason,
                AveragingStartStep = s.AveragingStartStep,
                TrainTokens = corpus.Train.Count,
                ValidTokens = corpus.Valid.Count,
                TestTokens = corpus.Test.Count,
                VocabularySize = vocab.Count,
                InitialValidPerplexity = s.InitialValidLoss is { } initial ? Math.Exp(initial) : null,
                ValidPerplexityHistory = s.ValidHistory,
                TokensPerSecond = s.SecondsDone > 0 ? s.TokensDone / s.SecondsDone : 0,
                TestBitsPerCharacter = test.Nats / Math.Log(2) / Math.Max(1, testCharacters),
                TestWordPerplexity = Math.Exp(test.Nats / Math.Max(1, testWords)),
                TestCharacters = testCharacters,
                TestWords = testWords,
                Parameters = parameters,
                ParameterBytes = model.UniqueParameters().Sum(p => p.numel() * p.ElementSize),
                ModelBytes = WeightsBytes(model),
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

    /// <summary>The size of the weights file the model saves as (the same serialisation <c>ModelArtifacts</c> writes).</summary>
    /// <summary>
    /// The tokenizer a resumed run reads its text with: a BPE run's merges from its checkpoint (or, in checkpoints written
    /// before they were kept there, a warm start's parent's merges, else merges learnt again from the training split,
    /// deterministically); word and character tokenizers are created from the spec.
    /// </summary>
    private ITokenizer ResumeTokenizer(TrainingRunContext context, CorpusSplits splits)
    {
        if (Spec.Tokenizer.Kind != TokenizerKind.Bpe) return Tokenizers.Create(Spec.Tokenizer);
        if (Checkpoint.ReadMerges(context.CheckpointDirectory!) is { } merges) return Tokenizers.Create(Spec.Tokenizer, merges);
        if (Spec.Init is not null && context.WarmStart is { } parent) return parent.Tokenizer;
        return Tokenizers.ForTraining(Spec.Tokenizer, splits.Train);
    }

    private static long WeightsBytes(RnnLanguageModel model)
    {
        using var stream = new MemoryStream();
        model.save(stream);                          // closes the stream; ToArray still works on a closed MemoryStream
        return stream.ToArray().LongLength;
    }

    private static OptimizerHelper CreateOptimizer(RnnLanguageModel model, TrainingOptions o)
    {
        var ps = model.UniqueParameters();
        return o.Optimizer switch
        {
            OptimizerKind.Adam => optim.Adam(ps, o.LearningRate, weight_decay: o.WeightDecay),
            OptimizerKind.AdamW => optim.AdamW(ps, o.LearningRate, weight_decay: o.WeightDecay),
            // NT-ASGD is SGD whose weights are averaged after the switch (torch's ASGD with t0 = 0 and lambd = 0, as AWD-LSTM runs it).
            _ => optim.SGD(ps, o.LearningRate, weight_decay: o.WeightDecay),
        };
    }

    internal static void SetLearningRate(OptimizerHelper optimizer, double lr)
    {
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
    }
}
