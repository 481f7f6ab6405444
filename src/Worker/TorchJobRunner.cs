namespace RnnLmService.Worker;

/// <summary>Runs a job with the Core engine's trainer (wired once the engine lands).</summary>
public sealed class TorchJobRunner : IJobRunner
{
    public JobOutcome Run(JobRunContext context) =>
        throw new NotSupportedException("The training engine is not available in this build.");
}
