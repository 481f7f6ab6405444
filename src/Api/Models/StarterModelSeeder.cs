using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Models;

/// <summary>
/// On a first start with an empty store (and <c>RnnLm:StarterModel</c> true), queues one training job for a
/// small model on <see cref="StarterCorpus"/>, promoted on success so it becomes the default model. The job
/// carries the unique key <see cref="UniqueKey"/>: with several replicas starting at once the store keeps one
/// job, and whichever worker claims it trains it.
/// </summary>
public sealed class StarterModelSeeder(
    ModelVersionStore versions, JobStore jobs, DatasetStore datasets, IOptions<RnnLmOptions> options, ILogger<StarterModelSeeder> logger) : IHostedService
{
    /// <summary>The starter job's idempotency key.</summary>
    public const string UniqueKey = "starter-model-v1";

    /// <summary>The starter model's name.</summary>
    public const string ModelName = "starter";

    /// <summary>A model small enough to train in well under a minute on 2 cores, yet good at its grammar.</summary>
    public static readonly TrainingSpec Spec = new()
    {
        Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word },
        Model = new ModelOptions { CellType = CellType.Lstm, EmbeddingSize = 64, HiddenSize = 128, Layers = 1, Dropout = 0.1 },
        Training = new TrainingOptions { Epochs = 4, BatchSize = 20, Bptt = 20, LearningRate = 20 },
    };

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.StarterModel) return;
        try
        {
            if ((await versions.ListAsync(ct: cancellationToken)).Count > 0) return;
            var dataset = await datasets.CreateFromTextAsync("starter corpus (generated)", StarterCorpus.Generate(), ct: cancellationToken);
            var job = await jobs.EnqueueAsync(new NewTrainingJob(ModelName, dataset.Id, JobSpecJson.Serialize(Spec), Priority: 100, Promote: true, UniqueKey: UniqueKey), cancellationToken);
            if (job.DatasetId != dataset.Id)
                await datasets.DeleteAsync(dataset.Id, cancellationToken); // another replica queued it first
            else
                logger.LogInformation("Empty store: queued starter model job {JobId}; inference answers 503 until it is trained", job.Id);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Could not queue the starter model");
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
