using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Tests.Security;

/// <summary>
/// A real Kestrel host: bound beyond loopback it makes an admin key at first start; on loopback it does not. Alone,
/// because Serilog's hosting integration sets the process-wide logger: hosts running at once may log into each other.
/// </summary>
[Collection(nameof(FirstStartKeyTests))]
public sealed partial class FirstStartKeyTests
{
    [Fact]
    public async Task Bound_beyond_loopback_without_keys_the_first_start_logs_an_admin_key_once_that_works()
    {
        using var factory = new KestrelFactory(any: true);
        using var client = factory.Loopback();

        // The service is closed from the first request on (the request waits for the first-start key to exist).
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);

        var announced = factory.Logs.Lines.Where(l => l.Contains(AccessMode.BootstrapKeyName)).ToList();
        Assert.True(announced.Count == 1, string.Join("\n", factory.Logs.Lines));
        var line = announced[0];
        var key = KeyPattern().Match(line).Value;
        Assert.StartsWith(ApiKeySecrets.Prefix, key);

        var stored = await factory.Services.GetRequiredService<ApiKeyStore>().ListAsync();
        var record = Assert.Single(stored);
        Assert.Equal(("admin", ApiKeySecrets.HashHex(key)), (record.Role, record.Sha256));

        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/keys")).StatusCode);
        Assert.Single(factory.Logs.Lines, l => l.Contains(key)); // printed once, never again
    }

    [Fact]
    public async Task On_loopback_without_keys_no_key_is_made_and_the_service_is_open()
    {
        using var factory = new KestrelFactory(any: false);
        using var client = factory.Loopback();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/models")).StatusCode);
        Assert.Empty(await factory.Services.GetRequiredService<ApiKeyStore>().ListAsync());
        Assert.DoesNotContain(factory.Logs.Lines, l => l.Contains(AccessMode.BootstrapKeyName));
    }

    [GeneratedRegex("rnnlm_[A-Za-z0-9_-]{43}")]
    private static partial Regex KeyPattern();

    private sealed class KestrelFactory : KeyedFactory
    {
        public KestrelFactory(bool any)
        {
            UseKestrel(o => o.Listen(any ? IPAddress.Any : IPAddress.Loopback, 0));
            StartServer();
        }

        protected override IReadOnlyDictionary<string, string> Settings => Limits;

        /// <summary>A client to the bound port over 127.0.0.1.</summary>
        public HttpClient Loopback()
        {
            var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            var port = new Uri(address.Replace("0.0.0.0", "127.0.0.1")).Port;
            return new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        }
    }
}

[CollectionDefinition(nameof(FirstStartKeyTests), DisableParallelization = true)]
public sealed class FirstStartKeyCollection;
