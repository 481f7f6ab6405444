using System.Net;
using System.Text.Json;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Security;

/// <summary>Failing reads and writes of models and datasets answer with a problem that names no server path.</summary>
/// <remarks>Reads the captured log, which a host starting in parallel can redirect (Serilog's hosting sets a process-wide logger): not in parallel.</remarks>
[Collection(nameof(FirstStartKeyTests))]
public sealed class ProblemPrivacyTests
{
    [Fact]
    public async Task A_damaged_model_is_a_422_without_the_path_and_the_path_is_in_the_log()
    {
        using var factory = new KeyedFactory();
        _ = factory.Server;
        await factory.AddModelAsync("broken");
        var manifest = Directory.EnumerateFiles(Path.Combine(factory.DataDirectory, "models", "broken"), "model.json", SearchOption.AllDirectories).Single();
        await File.WriteAllTextAsync(manifest, "{ not json");

        using var admin = factory.ClientWith(KeyedFactory.AdminKey);
        var response = await admin.PostAsync("/api/models/broken/load", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        AssertNoPath(body, factory.DataDirectory);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal("model_unloadable", problem.RootElement.GetProperty("code").GetString());
        var correlation = problem.RootElement.GetProperty("correlationId").GetString()!;
        Assert.Contains(factory.Logs.Lines, l => l.Contains(factory.DataDirectory) && l.Contains(correlation));
    }

    [Fact]
    public async Task A_dataset_that_cannot_be_written_is_a_507_without_the_path()
    {
        using var factory = new KeyedFactory();
        _ = factory.Server;
        var datasets = Path.Combine(factory.DataDirectory, "datasets");
        if (Directory.Exists(datasets)) Directory.Delete(datasets, recursive: true);
        await File.WriteAllTextAsync(datasets, "a file where the datasets directory should be");

        using var trainer = factory.ClientWith(KeyedFactory.TrainKey);
        var response = await trainer.PostRawAsync("/api/datasets", """{"name":"d","text":"a b c\nd e f\ng h i\nj k l\n"}""");
        Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        AssertNoPath(body, factory.DataDirectory);
        Assert.Equal("storage_failed", JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_missing_dataset_and_job_are_404_with_a_code_and_a_pointer_to_the_listing()
    {
        using var factory = new KeyedFactory();
        using var reader = factory.ClientWith(KeyedFactory.ReadKey);
        foreach (var (url, code) in new[] { ("/api/datasets/nope", "dataset_not_found"), ("/api/training-jobs/nope", "job_not_found") })
        {
            var response = await reader.GetAsync(url);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
            Assert.Contains("GET /api/", problem.RootElement.GetProperty("detail").GetString());
        }
    }

    private static void AssertNoPath(string body, string dataDirectory)
    {
        Assert.DoesNotContain(dataDirectory, body);
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), body);
        Assert.DoesNotContain("Exception", body);
    }
}
