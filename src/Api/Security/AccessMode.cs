using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Security;

/// <summary>
/// Whether a request without a key is let in. Open when <c>RnnLm:Auth:AllowAnonymous</c> is true, or when no key is
/// configured or created and every address the server listens on is loopback (an in-memory test server counts as
/// loopback). Bound beyond loopback with no key, the first start creates an admin key, stores its digest and logs the
/// key once: the only time a key is written to the log.
/// </summary>
public sealed class AccessMode(IServer server, IOptions<RnnLmOptions> options, ApiKeyResolver keys, ApiKeyStore store, ILogger<AccessMode> logger)
{
    /// <summary>Name of the key made at first start.</summary>
    public const string BootstrapKeyName = "first-start-admin";

    private readonly Lock _gate = new();
    private Task<bool>? _loopback;

    /// <summary>
    /// Whether the server listens only on loopback; makes the first-start key when it does not and none exists. Decided
    /// once; a failed attempt (the store unreachable) is tried again by the next request.
    /// </summary>
    public Task<bool> ListensOnLoopbackOnlyAsync()
    {
        lock (_gate)
        {
            if (_loopback is null || _loopback.IsFaulted || _loopback.IsCanceled)
                _loopback = InitializeAsync(server, options.Value, keys, store, logger);
            return _loopback;
        }
    }

    /// <summary>Whether <c>RnnLm:Auth:AllowAnonymous</c> opens the service deliberately.</summary>
    public bool AllowsAnonymous => options.Value.Auth.AllowAnonymous;

    /// <summary>Whether requests without a key act as <c>admin</c> now.</summary>
    public async Task<bool> IsOpenAsync(CancellationToken ct)
    {
        if (options.Value.Auth.AllowAnonymous) return true;
        return await ListensOnLoopbackOnlyAsync() && !keys.AnyConfigured && !await keys.AnyStoredAsync(ct);
    }

    private static async Task<bool> InitializeAsync(IServer server, RnnLmOptions options, ApiKeyResolver keys, ApiKeyStore store, ILogger logger)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var loopback = addresses.All(IsLoopback);
        if (loopback || options.Auth.AllowAnonymous || keys.AnyConfigured || await store.AnyActiveAsync()) return loopback;

        var (record, key) = await store.CreateAsync(BootstrapKeyName, ApiKeyRoles.Admin);
        keys.Invalidate();
        logger.LogWarning(
            "The service listens beyond loopback ({Addresses}) and no API key was configured: created the admin key {KeyName} ({KeyId}). "
            + "It is shown this once; store it, send it as 'Authorization: Bearer <key>' and create further keys with POST /api/keys. Key: {ApiKey}",
            string.Join(", ", addresses), record.Name, record.Id, key);
        return loopback;
    }

    /// <summary><c>http://127.0.0.1:5000</c>, <c>http://localhost:5000</c> and <c>http://[::1]:5000</c> are loopback; <c>0.0.0.0</c>, <c>*</c>, <c>+</c> are not.</summary>
    internal static bool IsLoopback(string address)
    {
        var host = BindingAddress.Parse(address).Host;
        return IsLoopbackHost(host);
    }

    /// <summary>Whether a host name or address (as in a URL or a Host header) is loopback.</summary>
    internal static bool IsLoopbackHost(string host)
    {
        host = host.Trim('[', ']');
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }
}
