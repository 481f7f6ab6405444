using Microsoft.Extensions.Options;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Hosting;

public class OptionsValidationTests
{
    private sealed class BadServingFactory : ApiFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["RnnLm:Serving:MaxBatchSize"] = "0",
            ["RnnLm:Worker:Concurrency"] = "999",
        };
    }

    [Fact]
    public void A_value_out_of_range_in_a_nested_section_stops_the_host_naming_the_key()
    {
        using var factory = new BadServingFactory();
        var error = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateClient());
        Assert.Contains("RnnLm:Serving:MaxBatchSize", error.Message);
        Assert.Contains("RnnLm:Worker:Concurrency", error.Message);
    }
}
