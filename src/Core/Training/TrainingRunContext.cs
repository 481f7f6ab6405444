using Microsoft.Extensions.Logging;

namespace RnnLmService.Core.Training;

/// <summary>How a run talks to its host: checkpoints, progress, cancellation.</summary>
public sealed class TrainingRunContext
{
    /// <summary>Directory of the resumable state; null disables checkpoints and resume.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Resume from the checkpoint directory's state when there is one.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>Called with progress; runs on the training thread, so keep it quick.</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>Called after each optimizer step with the live model (training thread; copy what you keep, the weights change).</summary>
    public Action<Modeling.RnnLanguageModel>? StepCompleted { get; init; }

    /// <summary>Called after a checkpoint was written (epoch, step within it, global step).</summary>
    public Action<ResumeInfo>? Checkpointed { get; init; }

    /// <summary>Called once when the run continues from a checkpoint.</summary>
    public Action<ResumeInfo>? Resumed { get; init; }

    /// <summary>Asked at every batch boundary: true writes a checkpoint there (e.g. every N minutes).</summary>
    public Func<bool>? CheckpointNow { get; init; }

    /// <summary>Checked at every batch boundary. On cancel the run stops within one batch.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Write a checkpoint at the batch boundary where cancellation was seen (graceful shutdown).</summary>
    public bool CheckpointOnCancel { get; init; }

    /// <summary>Report step progress every this many steps (each report reads the loss from the tensor: a sync).</summary>
    public int ReportEverySteps { get; init; } = 20;

    /// <summary>LibTorch intra-op threads for the calling thread; null leaves the setting alone.</summary>
    public int? TorchThreads { get; init; }

    /// <summary>The parent model of a warm start (the spec's <see cref="TrainingSpec.Init"/>); ignored when resuming from a checkpoint.</summary>
    public WarmStart? WarmStart { get; init; }

    /// <summary>Logger for the run.</summary>
    public ILogger? Logger { get; init; }
}
