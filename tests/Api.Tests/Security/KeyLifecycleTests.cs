using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Security;

public sealed class KeyLifecycleTests
{
    [Fact]
    public async Task A_key_created_through_the_API_works_closes_the_open_service_and_stops_working_once_revoked()
    {
        using var factory = new KeyedOpenFactory();
        using var anonymous = factory.CreateClient();

        // Open on loopback without keys: anonymous callers act as admin, and a made-up key is ignored.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/keys")).StatusCode);
        using (var madeUp = factory.ClientWith("sk-anything-an-openai-client-sends"))
            Assert.Equal(HttpStatusCode.OK, (await madeUp.GetAsync("/v1/models")).StatusCode);

        var created = await anonymous.PostAsJsonAsync("/api/keys", new { name = "ci", role = "train" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var key = body.RootElement.GetProperty("key").GetString()!;
        var id = body.RootElement.GetProperty("id").GetString()!;
        Assert.StartsWith("rnnlm_", key);
        Assert.Equal($"/api/keys/{id}", created.Headers.Location?.OriginalString);

        // A key exists: the service is closed.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/datasets")).StatusCode);
        using var train = factory.ClientWith(key);
        Assert.Equal(HttpStatusCode.OK, (await train.GetAsync("/api/datasets")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await train.GetAsync("/api/keys")).StatusCode);

        // The listing never shows the key, only its prefix.
        var admin = await anonymous.PostAsJsonAsync("/api/keys", new { name = "x", role = "admin" });
        Assert.Equal(HttpStatusCode.Unauthorized, admin.StatusCode); // closed now: creating keys needs an admin key

        // Revoke with a second admin key made directly in the store (the first key is only train).
        var store = factory.Services.GetRequiredService<RnnLmService.Core.Storage.Keys.ApiKeyStore>();
        var (_, adminKey) = await store.CreateAsync("ops", "admin");
        using var ops = factory.ClientWith(adminKey);
        var list = await ops.GetStringAsync("/api/keys");
        Assert.DoesNotContain(key, list);
        Assert.DoesNotContain(adminKey, list);
        Assert.Contains(key[..10], list);

        Assert.Equal(HttpStatusCode.NoContent, (await ops.DeleteAsync($"/api/keys/{id}")).StatusCode);
        var refused = await train.GetAsync("/api/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await ops.DeleteAsync("/api/keys/key_nope")).StatusCode);

        // Keys never reach the log, though every request above was logged.
        Assert.NotEmpty(factory.Logs.Lines);
        Assert.DoesNotContain(factory.Logs.Lines, l => l.Contains(key) || l.Contains(adminKey));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_even_while_the_service_is_open_again()
    {
        using var factory = new KeyedOpenFactory();
        using var anonymous = factory.CreateClient();
        using var body = JsonDocument.Parse(await (await anonymous.PostAsJsonAsync("/api/keys", new { name = "only", role = "admin" })).Content.ReadAsStringAsync());
        var key = body.RootElement.GetProperty("key").GetString()!;
        using var admin = factory.ClientWith(key);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/keys/{body.RootElement.GetProperty("id").GetString()}")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/datasets")).StatusCode); // no key in force: open again
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.GetAsync("/api/datasets")).StatusCode);
    }

    [Theory]
    [InlineData("{\"name\":\"a\",\"role\":\"root\"}", "role")]
    [InlineData("{\"role\":\"read\"}", "name")]
    public async Task A_bad_key_request_is_a_400_naming_the_field(string json, string field)
    {
        using var factory = new KeyedOpenFactory();
        using var client = factory.CreateClient();
        var response = await client.PostRawAsync("/api/keys", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _));
    }

    /// <summary>No configured keys, loopback (the in-memory test server): open until a key is created.</summary>
    private sealed class KeyedOpenFactory : KeyedFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => Limits;
    }
}
