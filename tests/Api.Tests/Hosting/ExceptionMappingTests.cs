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
    };

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
