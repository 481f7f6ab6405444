using RnnLmService.Core.Storage.Database;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Store;

/// <summary>Several processes starting at once on an empty store: EF Core's migration lock lets exactly one create the schema.</summary>
public abstract class ConcurrentStartupTests(string provider, ITestOutputHelper output)
{
    [Fact]
    public async Task Three_starts_at_once_migrate_an_empty_store_without_errors()
    {
        await using var store = await TestStore.CreateAsync(provider, output, migrate: false);
        if (store is null) return;
        JobStoreTests.RunConcurrently(3, _ =>
        {
            StoreMigrator.MigrateAsync(store.NewFactory(), store.Options).GetAwaiter().GetResult();
            return 0;
        });
        var job = await store.Jobs().EnqueueAsync(new Core.Storage.Jobs.NewTrainingJob("m", "d", "{}"));
        Assert.NotNull(await store.Jobs().GetAsync(job.Id));
    }
}

public sealed class SqliteConcurrentStartupTests(ITestOutputHelper output) : ConcurrentStartupTests(StoreProviders.Sqlite, output);

public sealed class PostgresConcurrentStartupTests(ITestOutputHelper output) : ConcurrentStartupTests(StoreProviders.Postgres, output);
