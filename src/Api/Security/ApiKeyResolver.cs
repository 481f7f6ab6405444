using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Security;

/// <summary>Who a key belongs to: its id (for limits), name (for logs) and role.</summary>
public sealed record KeyIdentity(string Id, string Name, string Role);

/// <summary>What a presented key turned out to be.</summary>
public enum KeyLookup
{
    /// <summary>A configured or created key that is in force.</summary>
    Valid,
    /// <summary>No key has this digest.</summary>
    Unknown,
    /// <summary>A created key that was revoked.</summary>
    Revoked,
}

/// <summary>
/// Finds the key a request presents: configured keys first (every configured digest is compared, in constant time),
/// then the keys in the store (looked up by digest, cached for <c>RnnLm:Auth:KeyCacheDuration</c>, and the digest
/// compared again in constant time). Keys are only ever handled as SHA-256 digests.
/// </summary>
public sealed class ApiKeyResolver
{
    private const int MaxCacheEntries = 10_000;
    private readonly IReadOnlyList<(byte[] Hash, KeyIdentity Identity)> _configured;
    private readonly ApiKeyStore _store;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _cacheFor;
    private readonly ConcurrentDictionary<string, (ApiKeyRecord? Record, DateTimeOffset Until)> _cache = new();
    private (bool Any, DateTimeOffset Until) _anyStored;

    public ApiKeyResolver(IOptions<RnnLmOptions> options, ApiKeyStore store, TimeProvider clock)
    {
        _store = store;
        _clock = clock;
        _cacheFor = options.Value.Auth.KeyCacheDuration;
        _configured = options.Value.Auth.Keys
            .Select(k => (ApiKeySecrets.ParseHash(k.KeySha256) ?? ApiKeySecrets.Hash(k.Key ?? ""), new KeyIdentity("config:" + k.Name, k.Name, k.Role)))
            .ToList();
    }

    /// <summary>Whether configuration holds any key.</summary>
    public bool AnyConfigured => _configured.Count > 0;

    /// <summary>Configured keys, for <c>GET /api/keys</c> (names and roles only).</summary>
    public IEnumerable<KeyIdentity> Configured => _configured.Select(c => c.Identity);

    /// <summary>Resolves <paramref name="presented"/>.</summary>
    public async Task<(KeyLookup Result, KeyIdentity? Identity)> ResolveAsync(string presented, CancellationToken ct)
    {
        var hash = ApiKeySecrets.Hash(presented);
        KeyIdentity? found = null;
        foreach (var (known, identity) in _configured)
            if (ApiKeySecrets.Matches(hash, known)) found = identity; // no early exit: the time does not say which key matched
        if (found is not null) return (KeyLookup.Valid, found);

        var record = await FindStoredAsync(Convert.ToHexStringLower(hash), ct);
        if (record is null || !ApiKeySecrets.Matches(hash, Convert.FromHexString(record.Sha256))) return (KeyLookup.Unknown, null);
        if (record.RevokedAt is not null) return (KeyLookup.Revoked, null);
        return (KeyLookup.Valid, new KeyIdentity(record.Id, record.Name, record.Role));
    }

    /// <summary>Whether the store holds a key in force (cached like the keys).</summary>
    public async Task<bool> AnyStoredAsync(CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        if (now < _anyStored.Until) return _anyStored.Any;
        var any = await _store.AnyActiveAsync(ct);
        _anyStored = (any, now + _cacheFor);
        return any;
    }

    /// <summary>Forgets what was cached (after a key is created or revoked in this process).</summary>
    public void Invalidate()
    {
        _cache.Clear();
        _anyStored = default;
    }

    private async Task<ApiKeyRecord?> FindStoredAsync(string hex, CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        if (_cache.TryGetValue(hex, out var hit) && now < hit.Until) return hit.Record;
        var record = await _store.FindByHashAsync(hex, ct);
        if (_cache.Count >= MaxCacheEntries) _cache.Clear(); // random keys cannot grow the cache without bound
        _cache[hex] = (record, now + _cacheFor);
        return record;
    }
}
