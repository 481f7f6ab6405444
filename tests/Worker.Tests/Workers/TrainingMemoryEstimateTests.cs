using System.Text;
using System.Text.Json;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>
/// The queue-time memory estimate against the measured peak RSS (VmHWM) of real training processes, above the
/// process's own peak before it read the corpus (the runtime and LibTorch). Tolerance: the estimate lies within
/// 0.4x-1.8x of the measured rise (the allocator keeps freed memory, which the estimate does not model step by step;
/// measured 0.86-0.97x on a warm machine and 0.51x in a fresh clone's first run, 2026-12-03).
/// </summary>
public sealed class TrainingMemoryEstimateTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const double Low = 0.4, High = 1.8;
    private TestStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = (await TestStore.CreateAsync(StoreProviders.Sqlite, output))!;
        var w = _store.Options.Worker;
        w.PollInterval = TimeSpan.FromMilliseconds(50);
        w.HeartbeatInterval = TimeSpan.FromMilliseconds(250);
        w.Concurrency = 2;
        w.TorchThreads = 1;
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private static TrainingSpec Spec(int hidden, int batch) => new()
    {
        Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Word, MaxVocabularySize = 3000 },
        Model = new ModelOptions { CellType = CellType.Lstm, EmbeddingSize = 128, HiddenSize = hidden, Layers = 2, Dropout = 0.2 },
        Training = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 0.002, Epochs = 1, BatchSize = batch, EvalBatchSize = 10, Bptt = 35, Patience = 0, Seed = 1 },
    };

    [Fact]
    public async Task The_estimate_matches_the_measured_peak_memory_of_small_jobs_within_the_stated_tolerance()
    {
        var random = new Random(3);
        var text = new StringBuilder();
        for (var line = 0; line < 2500; line++)
            text.AppendLine(string.Join(' ', Enumerable.Range(0, 20).Select(_ => $"w{random.Next(3000):0000}")));
        var dataset = await _store.Datasets().CreateFromTextAsync("wide", text.ToString());
        var specs = new[] { Spec(hidden: 256, batch: 32), Spec(hidden: 128, batch: 64) };
        var jobs = new List<string>();
        foreach (var (spec, i) in specs.Select((s, i) => (s, i)))
            jobs.Add((await _store.Jobs().EnqueueAsync(new NewTrainingJob($"m{i}", dataset.Id, JobSpecJson.Serialize(spec)))).Id);

        var worker = InProcessWorker.Create(_store, output);
        await worker.StartAsync(default);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (DateTime.UtcNow < deadline && !(await Task.WhenAll(jobs.Select(id => _store.Jobs().GetAsync(id)))).All(j => j!.IsTerminal))
            await Task.Delay(100);
        await worker.StopAsync(default);

        var ratios = new List<double>();
        foreach (var (id, spec) in jobs.Zip(specs))
        {
            Assert.Equal(JobStatus.Succeeded, (await _store.Jobs().GetAsync(id))!.Status);
            var process = (await _store.Jobs().EventsAfterAsync(id)).Where(e => e.Type == JobEventTypes.Process)
                .Select(e => JsonDocument.Parse(e.PayloadJson).RootElement).ToList();
            var baseline = process.Single(e => e.GetProperty("event").GetString() == "started").GetProperty("baselineRssBytes").GetInt64();
            var peak = process.Single(e => e.GetProperty("event").GetString() == "saved").GetProperty("peakRssBytes").GetInt64();
            var estimate = TrainingMemoryEstimate.Of(spec, dataset.Bytes, dataset.Words + dataset.Lines);
            var measured = peak - baseline;
            var ratio = (double)estimate.Total / measured;
            output.WriteLine($"hidden {spec.Model.HiddenSize} batch {spec.Training.BatchSize}: estimate {estimate.Total / 1e6:F1} MB " +
                $"(weights {estimate.Weights / 1e6:F1}, train act {estimate.TrainingActivations / 1e6:F1}, eval {estimate.EvaluationActivations / 1e6:F1}, corpus {estimate.Corpus / 1e6:F1}); " +
                $"measured {measured / 1e6:F1} MB above a baseline of {baseline / 1e6:F1} MB; ratio {ratio:F2}");
            ratios.Add(ratio);
        }
        Assert.All(ratios, r => Assert.InRange(r, Low, High));
    }
}
