using Hindsight.Embedded;
using Hindsight.EntityFrameworkCore;
using Hindsight.Setup;
using Hindsight.Tests.Setup;
using Hindsight.Tests.Infrastructure;
using Hindsight.Worker;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Temporal;

/// <summary>
/// A store on its own, holding two tracked databases with the same database and table names on two servers: each
/// application database reads its own history through postgres_fdw (the store's tables imported into a schema),
/// with <see cref="HindsightTemporalOptions.Source"/> naming its source, and never sees the other's rows.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TemporalStoreElsewhereTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Temporal_queries_read_a_store_on_another_database_through_postgres_fdw_per_source()
    {
        await using var serverB = await PrivatePostgresServer.StartAsync(new Dictionary<string, string> { ["max_wal_senders"] = "10" });
        var name = $"tshop_{Environment.ProcessId}_{Guid.NewGuid():N}"[..24];
        var slot = $"tslot_{Guid.NewGuid():N}"[..24];
        var csA = await NamedDatabases.CreateAsync(fixture.Server, name);
        var csB = await NamedDatabases.CreateAsync(serverB, name);
        var store = await NamedDatabases.CreateAsync(fixture.Server, name + "_store");
        foreach (var cs in new[] { csA, csB }) await SetupTestDatabases.ExecAsync(cs, TemporalShopDb.Sql);
        await Setup(csA, store, null, slot);
        await Setup(csB, store, "b", slot);

        using var stop = new CancellationTokenSource();
        var workers = new[]
        {
            Task.Run(() => new CaptureWorker(new CaptureOptions { SourceConnectionString = csA, StoreConnectionString = store, Slot = slot, Publication = slot }).RunAsync(stop.Token)),
            Task.Run(() => new CaptureWorker(new CaptureOptions { SourceConnectionString = csB, StoreConnectionString = store, Slot = slot, Publication = slot, SourceName = "b" }).RunAsync(stop.Token)),
        };
        // The same key in both databases, with different values and histories.
        await SetupTestDatabases.ExecAsync(csA, "INSERT INTO orders VALUES (1, 'from A', 'New', 1, NULL, NULL, 'Oslo', 1)");
        await SetupTestDatabases.ExecAsync(csB, "INSERT INTO orders VALUES (1, 'from B', 'New', 2, NULL, NULL, 'Rome', 1)");
        await SetupTestDatabases.ExecAsync(csB, "UPDATE orders SET revision = 2, ship_city = 'Milan' WHERE id = 1");
        await using (var a = NpgsqlDataSource.Create(csA))
        await using (var b = NpgsqlDataSource.Create(csB))
        await using (var s = NpgsqlDataSource.Create(store))
        {
            await Hindsight.Worker.CatchUp.WaitAsync(a, s, slot, TimeSpan.FromSeconds(60));
            await Hindsight.Worker.CatchUp.WaitAsync(b, s, slot, TimeSpan.FromSeconds(60));
        }
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        // Database A reads the store through postgres_fdw (the store's tables imported into schema hindsight_store).
        var storeConn = new NpgsqlConnectionStringBuilder(store);
        await SetupTestDatabases.ExecAsync(csA, $"""
            CREATE EXTENSION postgres_fdw;
            CREATE SERVER hindsight_store FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '{storeConn.Host}', port '{storeConn.Port}', dbname '{storeConn.Database}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER hindsight_store OPTIONS (user '{storeConn.Username}');
            CREATE SCHEMA hindsight_store;
            IMPORT FOREIGN SCHEMA hindsight LIMIT TO (changes, baselines, schema_changes) FROM SERVER hindsight_store INTO hindsight_store;
            """);
        async Task<List<(string Customer, string? City, int Revision)>> All(Action<HindsightTemporalOptions> temporal)
        {
            await using var db = new TemporalShopDb(TemporalShopDb.Options(csA, temporal: temporal));
            return (await db.Orders.TemporalAll().OrderBy(o => EF.Property<DateTime>(o, "PeriodStart")).ToListAsync())
                .Select(o => (o.Customer, o.Ship.City, o.Revision)).ToList();
        }
        // Its own source by name: A's one version, none of B's.
        Assert.Equal([("from A", (string?)"Oslo", 1)], await All(o => { o.StoreSchema = "hindsight_store"; o.Source = name; }));
        // B's source, read from A's database, is B's history: the store is per source, whatever database asks.
        Assert.Equal([("from B", (string?)"Rome", 1), ("from B", "Milan", 2)], await All(o => { o.StoreSchema = "hindsight_store"; o.Source = "b"; }));
        // Without a source, every source of this database name: both databases' rows. That is why Source exists.
        Assert.Equal(3, (await All(o => o.StoreSchema = "hindsight_store")).Count);
        // AsOf and a key read work through the foreign tables too.
        await using (var db = new TemporalShopDb(TemporalShopDb.Options(csA, temporal: o => { o.StoreSchema = "hindsight_store"; o.Source = "b"; })))
        {
            var now = DateTime.UtcNow;
            Assert.Equal("Milan", (await db.Orders.TemporalAsOf(now).SingleAsync(o => o.Id == 1)).Ship.City);
        }
    }

    private static Task<SetupReport> Setup(string source, string store, string? sourceName, string slot) =>
        NamedDatabases.SetupSourceAsync(source, store, sourceName, slot, "orders", "order_lines");
}
