using RnnLmService.Core;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Keys;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Store;

/// <summary>Created keys on each provider: only the digest is stored, found by it, revoked in place.</summary>
public abstract class ApiKeyStoreTests(string provider, ITestOutputHelper output) : IAsyncLifetime
{
    private TestStore? _store;

    public async Task InitializeAsync() => _store = await TestStore.CreateAsync(provider, output);

    public async Task DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
    }

    [Fact]
    public async Task A_key_is_stored_as_its_digest_found_by_it_and_revoked_in_place()
    {
        if (_store is null) return;
        var store = new ApiKeyStore(_store.Factory, TimeProvider.System);
        Assert.False(await store.AnyActiveAsync());

        var (record, key) = await store.CreateAsync("ci", ApiKeyRoles.Train);
        Assert.Equal(ApiKeySecrets.HashHex(key), record.Sha256);
        Assert.True(key.StartsWith(record.Prefix, StringComparison.Ordinal) && record.Prefix.Length < key.Length / 4);
        var (_, other) = await store.CreateAsync("ops", ApiKeyRoles.Admin);
        Assert.NotEqual(key, other);
        Assert.True(await store.AnyActiveAsync());

        var found = await store.FindByHashAsync(ApiKeySecrets.HashHex(key));
        Assert.Equal(("ci", "train", (DateTime?)null), (found!.Name, found.Role, found.RevokedAt));
        Assert.Null(await store.FindByHashAsync(ApiKeySecrets.HashHex(key + "x")));
        var listed = await store.ListAsync();
        Assert.Equal(2, listed.Count);
        Assert.DoesNotContain(listed, k => k.Sha256 == key || k.Prefix == key);

        await store.RevokeAsync(record.Id);
        Assert.NotNull((await store.FindByHashAsync(record.Sha256))!.RevokedAt);
        await store.RevokeAsync(record.Id); // idempotent
        Assert.Equal(2, (await store.ListAsync()).Count);
        Assert.Equal("key_not_found", (await Assert.ThrowsAsync<NotFoundException>(() => store.RevokeAsync("key_nope"))).Code);
        Assert.Equal("role", (await Assert.ThrowsAsync<InvalidSettingException>(() => store.CreateAsync("x", "root"))).Field);
        Assert.Equal("name", (await Assert.ThrowsAsync<InvalidSettingException>(() => store.CreateAsync(new string('n', 101), "read"))).Field);
    }
}

public sealed class SqliteApiKeyStoreTests(ITestOutputHelper output) : ApiKeyStoreTests(StoreProviders.Sqlite, output);

public sealed class PostgresApiKeyStoreTests(ITestOutputHelper output) : ApiKeyStoreTests(StoreProviders.Postgres, output);
