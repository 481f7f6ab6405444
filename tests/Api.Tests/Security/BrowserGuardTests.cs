using System.Net;
using System.Text;
using System.Text.Json;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Security;

/// <summary>What a web page may not do to a service open on loopback, and what CORS lets through.</summary>
public sealed class BrowserGuardTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Theory]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Origin", "http://localhost:3000")]
    public async Task A_cross_site_state_changing_request_is_403_before_it_acts(string header, string value)
    {
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/models/nope/load");
        request.Headers.Add(header, value);
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("cross_site_request", problem.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Same_origin_pages_and_clients_without_browser_headers_pass()
    {
        using var client = factory.CreateClient();
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Post, "/api/models/nope/load");
        sameOrigin.Headers.Add("Sec-Fetch-Site", "same-origin");
        sameOrigin.Headers.Add("Origin", "http://localhost");
        Assert.NotEqual(HttpStatusCode.Forbidden, (await client.SendAsync(sameOrigin)).StatusCode);
        Assert.NotEqual(HttpStatusCode.Forbidden, (await client.PostAsync("/api/models/nope/load", null)).StatusCode);
        // Reading cross-site is left to the browser's same-origin policy (no CORS headers are sent).
        using var read = new HttpRequestMessage(HttpMethod.Get, "/api/models");
        read.Headers.Add("Origin", "http://evil.example");
        var listed = await client.SendAsync(read);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.False(listed.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Open_on_loopback_the_service_answers_only_loopback_host_names()
    {
        using var client = factory.CreateClient();
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/api/models");
        rebound.Headers.Host = "attacker.example:5000";
        var response = await client.SendAsync(rebound);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("host_not_allowed", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task A_listed_origin_gets_CORS_headers_and_may_post()
    {
        using var cors = new CorsFactory();
        using var client = cors.CreateClient();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/models/nope/load");
        preflight.Headers.Add("Origin", "https://app.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization");
        var answer = await client.SendAsync(preflight);
        Assert.Equal("https://app.example", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/models/nope/load") { Content = new StringContent("", Encoding.UTF8) };
        post.Headers.Add("Origin", "https://app.example");
        post.Headers.Add("Sec-Fetch-Site", "cross-site");
        Assert.NotEqual(HttpStatusCode.Forbidden, (await client.SendAsync(post)).StatusCode);
    }

    private sealed class CorsFactory : ApiFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["RnnLm:Cors:Origins:0"] = "https://app.example" };
    }
}
