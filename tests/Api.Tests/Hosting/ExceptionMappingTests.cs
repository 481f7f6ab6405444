using Microsoft.AspNetCore.Http;
using RnnLmService.Api.Errors;
using RnnLmService.Core;
using Storage = RnnLmService.Core.Storage;

namespace RnnLmService.Api.Tests.Hosting;

public class ExceptionMappingTests
{
    public static TheoryData<Exception, int, string?> Cases => new()
    {
        { new InvalidSettingException("topK", "topK must be positive."), 400, "topK" },
        { new CorpusException("text", "the corpus is empty."), 400, "text" },
        { new ModelFormatException("/data/models/a/1", "weights are truncated"), 422, "model" },
        { new Storage.NotFoundException("no such model", "model", "model_not_found"), 404, "model" },
        { new UnauthorizedException("no key"), 401, null },
        { new ForbiddenException("read may not"), 403, null },
        { new RateLimitedException("slow down", TimeSpan.FromSeconds(3)), 429, null },
        { new StorageFailedException("disk full", new IOException("/data/x: no space")), 507, null },
        { new UnsupportedMediaTypeException("send JSON"), 415, "body" },
        { new InvalidDataException("Unexpected end of Stream"), 400, "file" },
        { new QueueFullException("full", TimeSpan.FromSeconds(1)), 429, null },
        { new ModelNotReadyException("training", TimeSpan.FromSeconds(5)), 503, "model" },
        { new BadHttpRequestException("too big", 413), 413, "body" },
        { new Storage.NotFoundException("dataset", "x"), 404, null },
        { new Storage.ConflictException("busy"), 409, null },
        { new Storage.PayloadTooLargeException("file", 10), 413, "file" },
        { new Storage.StoreUnavailableException("db down"), 503, null },
        { new InvalidOperationException("bug"), 500, null },
        { new InvalidSettingsException([("training.epochs", "epochs must be between 1 and 1000 (was 0)."), ("model.hiddenSize", "hiddenSize must be between 1 and 8192 (was 0).")]), 400, "model.hiddenSize" },
        { new InvalidJsonException("The body is not valid JSON: the syntax breaks at line 1, column 9."), 400, "body" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_problem_written_outside_the_handler_has_the_same_members(Exception exception, int status, string? field)
    {
        // What the error event of a streamed generation carries: the handler's mapping completed by ProblemShape.
        var http = new DefaultHttpContext { TraceIdentifier = "corr-1" };
        http.Request.Path = "/api/models/tiny/generate";
        var problem = ProblemShape.Complete(ApiExceptionHandler.Map(exception), http);
        Assert.Equal(status, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Type));
        Assert.False(string.IsNullOrWhiteSpace(problem.Title));
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
        Assert.Equal("/api/models/tiny/generate", problem.Instance);
        Assert.Equal("corr-1", problem.Extensions["correlationId"]);
        Assert.NotNull(problem.Extensions["traceId"]);
        Assert.NotNull(problem.Extensions["code"]);
        if (field is not null) Assert.True(((IDictionary<string, string[]>)problem.Extensions["errors"]!).ContainsKey(field));
    }

    [Fact]
    public void Several_invalid_fields_are_one_problem_with_each_of_them()
    {
        var problem = ApiExceptionHandler.Map(new InvalidSettingsException([("training.epochs", "epochs must be at least 1."), ("modelName", "modelName is required.")]));
        var errors = (IDictionary<string, string[]>)problem.Extensions["errors"]!;
        Assert.Equal(["modelName", "training.epochs"], errors.Keys.Order());
        Assert.Contains("2 fields are invalid", problem.Detail);
    }

    [Fact]
    public void Collected_checks_run_to_the_end_and_name_their_section()
    {
        var e = Assert.Throws<InvalidSettingsException>(() => SettingErrors.Collect(() =>
        {
            SettingErrors.Section("training", new RnnLmService.Core.Training.TrainingOptions { Epochs = 0, Bptt = 0, GradientAccumulation = 0 }.Validate);
            InvalidSettingException.Check(false, "modelName", "modelName is required.");
        }));
        Assert.Equal(["modelName", "training.bptt", "training.epochs", "training.gradientAccumulation"], e.Errors.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_exception_maps_to_its_status_and_field(Exception exception, int status, string? field)
    {
        var problem = ApiExceptionHandler.Map(exception);
        Assert.Equal(status, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
        Assert.False(string.IsNullOrEmpty(problem.Extensions["code"]?.ToString()));
        Assert.DoesNotContain("/data", problem.Detail);
        if (field is null)
            Assert.False(problem.Extensions.ContainsKey("errors"));
        else
            Assert.True(((IDictionary<string, string[]>)problem.Extensions["errors"]!).ContainsKey(field));
    }
}
