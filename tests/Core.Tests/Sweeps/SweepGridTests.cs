using System.Text.Json.Nodes;
using RnnLmService.Core;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Sweeps;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Tests.Sweeps;

public sealed class SweepGridTests
{
    private static SweepGrid Parse(string json, int max = 64) => SweepGrid.Parse(JsonNode.Parse(json), max);

    [Fact]
    public void Every_combination_is_a_point_the_first_field_varying_slowest()
    {
        var grid = Parse("""{"Training.BPTT": [8, 16], "model.embeddingSize": [4, 8, 12]}""");
        Assert.Equal(["training.bptt", "model.embeddingSize"], grid.Fields);   // spelled as job JSON spells them
        var points = grid.Points();
        Assert.Equal(6, grid.Count);
        Assert.Equal(
            ["8/4", "8/8", "8/12", "16/4", "16/8", "16/12"],
            points.Select(p => $"{p.Values[0].Value}/{p.Values[1].Value}"));
        Assert.Equal(Enumerable.Range(0, 6), points.Select(p => p.Index));
        Assert.Equal("training.bptt=16, model.embeddingSize=8", points[4].ToString());
    }

    [Fact]
    public void A_point_sets_its_values_over_the_base_job_and_keeps_the_rest()
    {
        var point = Parse("""{"model.hiddenSize": [32], "preset": ["fast"], "tokenizer.maxVocabularySize": [500]}""").Points()[0];
        var job = point.ApplyTo(JsonNode.Parse("""{"Model": {"HiddenSize": 16, "layers": 1}, "training": {"bptt": 8}, "preset": "classic"}""")!.AsObject());
        Assert.Equal(32, job["Model"]!["hiddenSize"]!.GetValue<int>());
        Assert.Null(job["Model"]!["HiddenSize"]);                          // replaced, not duplicated under another case
        Assert.Equal(1, job["Model"]!["layers"]!.GetValue<int>());
        Assert.Equal(8, job["training"]!["bptt"]!.GetValue<int>());
        Assert.Equal("fast", job["preset"]!.GetValue<string>());
        Assert.Equal(500, job["tokenizer"]!["maxVocabularySize"]!.GetValue<int>());
    }

    [Fact]
    public void The_articles_knobs_and_every_setting_are_known_fields()
    {
        foreach (var field in new[] { "tokenizer.maxVocabularySize", "training.bptt", "model.embeddingSize", "model.hiddenSize", "model.dropout", "preset", "training.optimizer" })
            Assert.Contains(field, SweepGrid.KnownFields);
        Assert.DoesNotContain("modelName", SweepGrid.KnownFields);
    }

    public static TheoryData<string, string, int> BadGrids => new()
    {
        { """{"model.hiddenSiz": [16]}""", "grid.model.hiddenSiz", 64 },
        { """{"modelName": ["a"]}""", "grid.modelName", 64 },
        { """{"training.bptt": []}""", "grid.training.bptt", 64 },
        { """{"training.bptt": 35}""", "grid.training.bptt", 64 },
        { """{"training.bptt": [35, 35]}""", "grid.training.bptt", 64 },
        { """{"training.bptt": [[35]]}""", "grid.training.bptt", 64 },
        { """{"training.bptt": [8], "Training.Bptt": [16]}""", "grid.Training.Bptt", 64 },
        { """{}""", "grid", 64 },
        { """[1, 2]""", "grid", 64 },
        { """{"training.bptt": [1, 2, 3], "model.hiddenSize": [1, 2, 3]}""", "grid", 8 },
    };

    [Theory]
    [MemberData(nameof(BadGrids))]
    public void A_bad_grid_names_its_field(string json, string field, int max)
    {
        var e = Assert.ThrowsAny<InvalidSettingException>(() => Parse(json, max));
        Assert.Equal(field, e.Field);
        if (max == 8) Assert.Contains("9 points", e.Reason);
    }

    [Fact]
    public void The_table_reads_metrics_it_knows_generically_and_picks_the_best_succeeded_point_on_validation()
    {
        var sweep = new SweepRecord { Id = "s", Name = "s", DatasetId = "d", BaseJson = "{}", GridJson = "{}", Points = 4 };
        SweepPointView Point(int i, JobStatus status, double? valid, string? metrics) => new(
            new SweepPointRecord { SweepId = "s", PointIndex = i, ValuesJson = $$"""{"training.bptt": {{i}}}""", JobId = $"j{i}" },
            new TrainingJobRecord { Id = $"j{i}", ModelName = $"s-{i}", DatasetId = "d", SpecJson = "{}", Status = status, BestValidPerplexity = valid, TestPerplexity = valid + 1 },
            metrics is null ? null : new ModelVersionRecord { Name = $"s-{i}", Version = 1, ArtifactPath = "x", MetricsJson = metrics });
        var table = SweepComparison.Of(new SweepView(sweep,
        [
            Point(0, JobStatus.Succeeded, 30, """{"bestValidPerplexity": 30, "tokensPerSecond": 900, "testBitsPerCharacter": 2.5, "parameters": 1234, "parameterBytes": 4936}"""),
            Point(1, JobStatus.Succeeded, 20, """{"bestValidPerplexity": 20, "tokensPerSecond": 800}"""),
            Point(2, JobStatus.Running, 10, null),     // better so far, but not finished: not the best point
            Point(3, JobStatus.Failed, null, null),
        ]));
        Assert.Equal(1, table.BestPoint);
        Assert.Equal("running", table.Status);
        Assert.Equal(2.5, table.Rows[0].BitsPerCharacter);
        Assert.Equal(1234, table.Rows[0].Parameters);
        Assert.Equal(4936, table.Rows[0].ModelBytes);
        Assert.Null(table.Rows[1].BitsPerCharacter);                  // metrics without it: null, not 0
        Assert.Null(table.Rows[1].Parameters);
        Assert.Equal(800, table.Rows[1].TokensPerSecond);
        Assert.Equal("s-1@1", table.Rows[1].ModelRef);
        Assert.Equal(21, table.Rows[1].TestPerplexity);
        Assert.Equal(3, table.Rows[3].Values["training.bptt"]!.GetValue<int>());
        Assert.Null(table.Rows[3].ValidPerplexity);
    }

    [Theory]
    [InlineData("queued", new[] { JobStatus.Queued, JobStatus.Queued })]
    [InlineData("running", new[] { JobStatus.Queued, JobStatus.Succeeded })]
    [InlineData("succeeded", new[] { JobStatus.Succeeded, JobStatus.Succeeded })]
    [InlineData("cancelled", new[] { JobStatus.Succeeded, JobStatus.Cancelled })]
    [InlineData("failed", new[] { JobStatus.Succeeded, JobStatus.Failed })]
    public void A_sweeps_status_follows_its_jobs(string expected, JobStatus[] jobs) =>
        Assert.Equal(expected, SweepComparison.StatusOf(jobs.GroupBy(j => j).ToDictionary(g => g.Key, g => g.Count())));
}
