using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Training;

namespace RnnLmService.Bench;

/// <summary>
/// <c>recipe &lt;dir&gt; spec='{json}' [label= threads=1]</c>: one job spec as the API takes it (<c>preset</c>, <c>tokenizer</c>,
/// <c>model</c>, <c>training</c>; the preset under the explicit fields, as <c>POST /api/training-jobs</c> merges them) trained
/// by the engine's <see cref="Trainer"/> — what the worker's job process runs — on the normalised splits. Without a
/// tokenizer the splits are read on whitespace with a 10,000-word vocabulary, as every other benchmark reads them.
/// </summary>
internal static class Recipe
{
    public static int Run(string dir, Args a)
    {
        var label = a.Get("label", "recipe");
        var threads = a.Int("threads", 1);
        var job = JsonNode.Parse(a.Get("spec", "{}"))!.AsObject();
        a.RejectUnknown();
        if (job["preset"]?.GetValue<string>() is { } name)
        {
            job = TrainingPresets.Apply(TrainingPresets.Find(name) ?? throw new ArgumentException($"unknown preset '{name}'"), job);
            job.Remove("preset");
        }
        var spec = job.Deserialize<TrainingSpec>(JobSpecJson.Options)!;
        if (job["tokenizer"] is null) spec = spec with { Tokenizer = BenchData.Whitespace(10000) };
        spec.Validate();

        var clock = Stopwatch.StartNew();
        using var result = TrainerBench.Train(spec, dir, threads, label);
        var m = result.Metrics;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            contender = "recipe",
            label,
            threads,
            parameters = result.Model.UniqueParameters().Sum(p => p.numel()),
            vocab = m.VocabularySize,
            vocabHash = BenchData.Hash(result.Vocabulary),
            steps = m.Steps,
            validations = m.Epochs,
            stopReason = m.StopReason,
            averagingStartStep = m.AveragingStartStep,
            validPpl = m.ValidPerplexityHistory.Select(v => Math.Round(v, 2)),
            bestValidPpl = Math.Round(m.BestValidPerplexity, 2),
            testPpl = Math.Round(m.TestPerplexity, 2),
            tokensPerSecond = Math.Round(m.TokensPerSecond, 0),
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
            spec = JsonSerializer.SerializeToElement(spec with { Training = spec.Training.Resolved() }, JobSpecJson.Options),
        }));
        return 0;
    }
}
