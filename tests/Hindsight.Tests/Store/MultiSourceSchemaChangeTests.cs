using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Hindsight.Worker;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Store;

/// <summary>
/// Two sources in one store (a database of its own), with the same table: a migration of one changes nothing in the
/// other's trail. As-of of each is compared, in PostgreSQL, with its live table.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class MultiSourceSchemaChangeTests(PostgresFixture fixture)
{
    private const string Schema = "CREATE TABLE person (id int PRIMARY KEY, email text, age int); INSERT INTO person VALUES (1, 'a@x', 30), (2, 'b@x', 40);";

    private static async Task ExecAsync(string cs, string sql)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>The as-of rows and the live table differ by, compared as jsonb in the source.</summary>
    private static async Task<string> DifferenceAsync(string cs, AsOfResult asOf)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE asof_rows (row jsonb) ON COMMIT DROP", conn, tx)) await create.ExecuteNonQueryAsync();
        foreach (var row in asOf.Rows)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO asof_rows VALUES ($1::jsonb)", conn, tx);
            insert.Parameters.AddWithValue(System.Text.Encoding.UTF8.GetString(row.RowJson.Span));
            await insert.ExecuteNonQueryAsync();
        }
        await using var diff = new NpgsqlCommand(
            """
            SELECT coalesce(string_agg(d, E'\n'), '') FROM (
                (SELECT 'as-of only: ' || row::text AS d FROM asof_rows EXCEPT ALL SELECT 'as-of only: ' || to_jsonb(p)::text FROM person p)
                UNION ALL
                (SELECT 'table only: ' || to_jsonb(p)::text FROM person p EXCEPT ALL SELECT 'table only: ' || row::text FROM asof_rows)) x
            """, conn, tx);
        return (string)(await diff.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_migration_of_one_source_leaves_the_others_trail_as_it_was()
    {
        var a = await fixture.CreateDatabaseAsync();
        var b = await fixture.CreateDatabaseAsync();
        var store = await fixture.CreateDatabaseAsync();
        await ExecAsync(a, Schema);
        await ExecAsync(b, Schema);
        var slotA = new NpgsqlConnectionStringBuilder(a).Database!;
        var slotB = new NpgsqlConnectionStringBuilder(b).Database!;
        foreach (var (cs, slot, name) in new[] { (a, slotA, "a"), (b, slotB, "b") })
            await new SetupRunner(new SetupOptions
            {
                SourceConnectionString = cs, StoreConnectionString = store, SourceName = name, Slot = slot, Publication = slot, Schemas = ["public"],
            }).RunAsync();

        using var stop = new CancellationTokenSource();
        var workers = new[] { (a, slotA, "a"), (b, slotB, "b") }.Select(w => Task.Run(() => new CaptureWorker(new CaptureOptions
        {
            SourceConnectionString = w.Item1, StoreConnectionString = store, SourceName = w.Item3, Slot = w.Item2, Publication = w.Item2,
        }).RunAsync(stop.Token))).ToArray();

        await ExecAsync(a, "UPDATE person SET age = age + 1");
        await ExecAsync(b, "UPDATE person SET age = age + 2");
        await ExecAsync(a, "ALTER TABLE person RENAME COLUMN email TO contact_email; ALTER TABLE person ADD COLUMN nick text DEFAULT 'n'");
        await using (var sa = NpgsqlDataSource.Create(a))
        await using (var sb = NpgsqlDataSource.Create(b))
        await using (var ss = NpgsqlDataSource.Create(store))
        {
            await CatchUp.WaitAsync(sa, ss, slotA, TimeSpan.FromSeconds(60));
            await CatchUp.WaitAsync(sb, ss, slotB, TimeSpan.FromSeconds(60));
            var trail = new AuditTrail(ss);
            var table = new TableName("public", "person");
            var now = DateTimeOffset.UtcNow.AddSeconds(1);
            Assert.Equal("", await DifferenceAsync(a, await trail.AsOfAsync(table, now, source: "a")));
            Assert.Equal("", await DifferenceAsync(b, await trail.AsOfAsync(table, now, source: "b")));
            Assert.Empty(await trail.SchemaChangesAsync(new SchemaChangeFilter { Tables = [table], Source = "b" }));
            Assert.Equal(2, (await trail.SchemaChangesAsync(new SchemaChangeFilter { Tables = [table], Source = "a" })).Count);
        }
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        foreach (var (cs, slot) in new[] { (a, slotA), (b, slotB) })
            await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, StoreConnectionString = store, Slot = slot, Publication = slot }).RunAsync();
    }
}
