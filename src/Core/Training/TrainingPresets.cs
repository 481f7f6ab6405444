using System.Text.Json.Nodes;

namespace RnnLmService.Core.Training;

/// <summary>What a preset reached on the benchmark corpus, as published in bench/RESULTS.md (null figures: not yet measured).</summary>
/// <param name="Status"><c>measured</c> or <c>not yet measured</c>.</param>
/// <param name="TestPerplexity">Test perplexity on the KJV benchmark corpus.</param>
/// <param name="Budget">What the run was given (epochs or minutes, threads).</param>
/// <param name="Source">Where the figure is published and the command that measured it.</param>
/// <param name="Note">What to keep in mind when reading the figure.</param>
public sealed record PresetFigures(string Status, double? TestPerplexity = null, string? Budget = null, string? Source = null, string? Note = null)
{
    /// <summary>A preset nobody has measured yet.</summary>
    public static readonly PresetFigures NotYetMeasured = new("not yet measured");
}

/// <summary>A named set of job fields (<c>tokenizer</c>, <c>model</c>, <c>training</c> objects) that a job's own fields override.</summary>
/// <param name="Name">The name a job gives as <c>"preset"</c>.</param>
/// <param name="Description">What it is for and why it is set so.</param>
/// <param name="Settings">The fields it sets; everything else keeps the engine's default.</param>
/// <param name="Figures">What it reached on the benchmark corpus.</param>
public sealed record TrainingPreset(string Name, string Description, JsonObject Settings, PresetFigures Figures);

/// <summary>The presets a job can start from (<c>GET /api/presets</c>).</summary>
public static class TrainingPresets
{
    /// <summary>Every preset, in the order they are listed.</summary>
    public static IReadOnlyList<TrainingPreset> All { get; } =
    [
        new("classic",
            "Today's defaults, the 2014 word-LM recipe (Zaremba et al.; pytorch/examples word_language_model): 2-layer LSTM 200/200 (untied), "
            + "dropout 0.2, BPTT 35, batch 20, SGD at lr 20 divided by 4 on a validation plateau, clip 0.25, 6 epochs, patience 3.",
            [],
            new("measured", 83.51, "60 minutes of training through the service, 1 thread, side by side with quality, 2026-12-03 (helpers' builds at nice 10 part of the hour)",
                "bench/RESULTS.md, Training strategies: the quality goal run (bench/ablation.sh --service --budget 60 --only classic,quality --parallel)",
                "12 epochs in the hour (best validation 43.47: the KJV test split reads much harder than its validation split); annealed once, at epoch 10.")),
        new("fast",
            "A model that trains in minutes on 2 cores: 1-layer LSTM 256/256 with tied weights (half the parameters of classic's "
            + "decoder pair), AdamW with 100 warm-up steps and cosine decay planned over a 10-minute budget, batch 32.",
            Parse("""
            {
              "model": { "embeddingSize": 256, "hiddenSize": 256, "layers": 1, "dropout": 0.25, "tieWeights": true },
              "training": { "optimizer": "adamW", "weightDecay": 0.01, "schedule": "cosine", "warmupSteps": 100,
                            "batchSize": 32, "epochs": 100, "patience": 0, "maxMinutes": 10 }
            }
            """),
            new("measured", 115.13, "6 minutes of training through the service, 1 thread, side by side with another row, quiet machine, 2026-12-03 (classic: 107.06 in the same table)",
                "bench/RESULTS.md, Training strategies: ablation through the service at a 6-minute budget (bench/ablation.sh --service --budget 6 --only variable-bptt,fast --parallel)",
                "Its own budget is 10 minutes; the ablation cut it to 6 like every row. 8 % behind classic at 6 minutes with two thirds of its parameters.")),
        new("quality",
            "The best this 2-core machine trains in about two hours: an AWD-LSTM recipe (Merity et al. 2017) sized for 2 cores — "
            + "2-layer LSTM 400/400 with tied weights, weight drop 0.3 on the hidden-to-hidden weights, locked dropout "
            + "(input 0.4, between layers 0.25, output 0.4), embedding dropout 0.1, AR 2 / TAR 1, NT-ASGD at lr 30 switching after "
            + "2 stalled checks (a 2-hour run sees about ten validations, not AWD's hundreds), variable BPTT around 70, weight decay 1.2e-6, "
            + "ending after 120 minutes.",
            Parse("""
            {
              "model": { "embeddingSize": 400, "hiddenSize": 400, "layers": 2, "dropout": 0.4, "tieWeights": true,
                         "weightDrop": 0.3, "embeddingDropout": 0.1, "lockedDropout": true,
                         "inputDropout": 0.4, "hiddenDropout": 0.25, "outputDropout": 0.4 },
              "training": { "optimizer": "ntAsgd", "learningRate": 30, "clip": 0.25, "weightDecay": 1.2e-6, "bptt": 70,
                            "variableBptt": true, "batchSize": 20, "activationRegularization": 2, "temporalActivationRegularization": 1,
                            "nonmonoInterval": 2, "epochs": 1000, "patience": 0, "maxMinutes": 120 }
            }
            """),
            new("measured", 87.27, "60 minutes of training through the service, 1 thread, side by side with classic, 2026-12-03 (helpers' builds at nice 10 part of the hour)",
                "bench/RESULTS.md, Training strategies: the quality goal run (bench/ablation.sh --service --budget 60 --only classic,quality --parallel)",
                "Not yet its goal: 4.5 % above classic's 83.51 at the same 1-hour budget (goal: 20 % below). 6 epochs in the hour; NT-ASGD never switched, so the rate was never lowered.")),
    ];

    /// <summary>The preset called <paramref name="name"/> (case-insensitive), or null.</summary>
    public static TrainingPreset? Find(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The job fields with the preset underneath: for each of <c>tokenizer</c>, <c>model</c> and <c>training</c>, the preset's
    /// fields, then the job's own fields over them (an explicit field always wins). Returns a new object.
    /// </summary>
    public static JsonObject Apply(TrainingPreset preset, JsonObject job)
    {
        var merged = (JsonObject)job.DeepClone();
        foreach (var (section, fields) in preset.Settings)
        {
            if (JobSections.Section(merged, section) is not { } target) continue;
            foreach (var (name, value) in fields!.AsObject())
                if (JobSections.Key(target, name) is null) target[name] = value?.DeepClone();
        }
        return merged;
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();
}
