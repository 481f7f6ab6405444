using RnnLmService.Core;
using RnnLmService.Worker.Child;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>A job's failure reason is shown to clients: it names the problem, never a server path.</summary>
public sealed class FailureReasonTests
{
    [Fact]
    public void A_model_file_problem_is_described_without_its_server_path()
    {
        var path = Path.Combine(Path.GetTempPath(), "data", "checkpoints", "job-1", "token", "state.json");
        var error = new ModelFormatException(path, "the checkpoint state is not valid JSON: unexpected end");

        var reason = JobProcess.Describe(error);

        Assert.Equal("the checkpoint state is not valid JSON: unexpected end", reason);
        Assert.DoesNotContain(path, reason);
        Assert.Contains(path, error.Message);   // the log still gets it
    }

    [Fact]
    public void A_setting_problem_names_the_field()
    {
        var reason = JobProcess.Describe(new InvalidSettingException("training.batchSize", "batchSize must be at least 1 (was 0)."));

        Assert.Equal("training.batchSize: batchSize must be at least 1 (was 0).", reason);
    }
}
