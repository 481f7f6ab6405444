using System.Text.Json;
using System.Text.Json.Nodes;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Tests.Engine;

public sealed class PresetTests
{
    private static TrainingSpec Spec(string preset, string job) =>
        TrainingPresets.Apply(TrainingPresets.Find(preset)!, JsonNode.Parse(job)!.AsObject()).Deserialize<TrainingSpec>(JobSpecJson.Options)!;

    [Fact]
    public void A_preset_plus_an_explicit_field_gives_the_field_and_the_preset_elsewhere()
    {
        var spec = Spec("fast", """{"training": {"maxMinutes": 3, "Optimizer": "sgd"}, "model": {"hiddenSize": 256}}""");
        Assert.Equal(3, spec.Training.MaxMinutes);
        Assert.Equal(OptimizerKind.Sgd, spec.Training.Optimizer);            // explicit, even in another letter case
        Assert.Equal(20, spec.Training.LearningRate);                          // the preset sets no rate: SGD's default
        Assert.Equal(LearningRateSchedule.Cosine, spec.Training.Schedule);     // from the preset
        Assert.Equal(1, spec.Model.Layers);
        Assert.True(spec.Model.TieWeights);
    }

    [Fact]
    public void Classic_is_the_defaults_and_every_preset_is_a_valid_spec()
    {
        Assert.Equal(new TrainingSpec().Training.Resolved(), Spec("classic", "{}").Training.Resolved());
        Assert.Equal(new TrainingSpec().Model, Spec("classic", "{}").Model);
        foreach (var preset in TrainingPresets.All)
        {
            var spec = Spec(preset.Name, "{}");
            spec.Validate();
            Assert.False(string.IsNullOrWhiteSpace(preset.Description));
        }
        var quality = Spec("quality", "{}");
        Assert.Equal(120, quality.Training.MaxMinutes);
        Assert.Equal(OptimizerKind.NtAsgd, quality.Training.Optimizer);
        Assert.True(quality.Model.LockedDropout);
        Assert.Null(TrainingPresets.Find("turbo"));
        Assert.NotNull(TrainingPresets.Find("FAST"));
    }
}
