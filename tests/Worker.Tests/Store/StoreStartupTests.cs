using Microsoft.EntityFrameworkCore;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Worker.Tests.Store;

public sealed class StoreStartupTests
{
    [Fact]
    public async Task An_unreachable_postgres_fails_start_with_one_sentence_naming_the_setting_and_host()
    {
        var options = new RnnLmOptions { DataDirectory = Path.Combine(Path.GetTempPath(), "rnnlm-tests", Guid.NewGuid().ToString("N")) };
        options.Store.Provider = "postgres";
        options.Store.ConnectionString = "Host=127.0.0.1;Port=1;Database=rnnlm;Username=x;Timeout=3";
        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => StoreMigrator.MigrateAsync(new StoreDbContextFactory(options), options));
        Assert.Contains("127.0.0.1:1", e.Message);
        Assert.Contains("RnnLm:Store:ConnectionString", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Directory.Delete(options.DataPath, recursive: true);
    }

    [Fact]
    public void A_postgres_provider_without_a_connection_string_or_an_unknown_provider_is_refused()
    {
        var options = new RnnLmOptions();
        options.Store.Provider = "postgres";
        Assert.Equal("RnnLm:Store:ConnectionString", Assert.Throws<InvalidSettingException>(() => new StoreDbContextFactory(options)).Field);
        options.Store.Provider = "mysql";
        Assert.Equal("RnnLm:Store:Provider", Assert.Throws<InvalidSettingException>(() => new StoreDbContextFactory(options)).Field);
    }

    [Fact]
    public async Task The_sqlite_store_runs_in_wal_mode()
    {
        var options = new RnnLmOptions { DataDirectory = Path.Combine(Path.GetTempPath(), "rnnlm-tests", Guid.NewGuid().ToString("N")) };
        var factory = new StoreDbContextFactory(options);
        await StoreMigrator.MigrateAsync(factory, options);
        await using var db = factory.CreateDbContext();
        await db.Database.OpenConnectionAsync();
        await using var cmd = db.Database.GetDbConnection().CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await cmd.ExecuteScalarAsync());
        Assert.True(File.Exists(Path.Combine(options.DataPath, "rnnlm.db")));
    }
}
