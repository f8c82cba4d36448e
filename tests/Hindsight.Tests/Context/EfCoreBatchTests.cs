using System.Text.Json;
using Hindsight.Context;
using Hindsight.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Hindsight.Tests.Context;

/// <summary>
/// SaveChanges with the context as the first statement of each batch command: one round trip, and every rows-affected
/// check and RETURNING read still lands on the right modification (the emit shifts statement positions by one).
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class EfCoreBatchTests(PostgresFixture fixture)
{
    private const string EmitPrefix = "SELECT pg_logical_emit_message(true, 'hindsight', ";

    private Task<CaptureHarness> StartAsync() => StoredContexts.StartAsync(fixture);

    private static void AssertContext(string expectedJson, string storedJson) => StoredContexts.AssertContext(expectedJson, storedJson);

    [Fact]
    public async Task Context_SaveChanges_of_one_row_is_one_command_without_a_transaction()
    {
        await using var h = await StartAsync();
        var trips = new RoundTrips();
        await using (var db = new BatchDb(BatchDb.Options(h.ConnectionString, interceptors: trips)))
        {
            using (HindsightContext.Push(new { user = "alice" }))
            {
                db.Items.Add(new Item { Name = "one" });
                await db.SaveChangesAsync();
            }
            db.Items.Add(new Item { Name = "plain" }); // no scope: EF's command untouched
            await db.SaveChangesAsync();
        }

        Assert.Equal(2, trips.SaveChangesCommands.Count);
        Assert.StartsWith(EmitPrefix, trips.SaveChangesCommands[0]);
        Assert.Equal(1, trips.SaveChangesCommands[0].Split(';', StringSplitOptions.RemoveEmptyEntries).Count(s => s.Contains("INSERT")));
        Assert.DoesNotContain("pg_logical_emit_message", trips.SaveChangesCommands[1]);
        Assert.Equal(0, trips.Transactions); // no BEGIN/COMMIT round trips: the two statements run as one implicit transaction

        await h.CatchUpAsync();
        var rows = await StoredContexts.ItemsAsync(h);
        Assert.Equal(["one", "plain"], rows.Select(r => r[1]).ToArray());
        AssertContext("""{"user":"alice"}""", rows[0][2]);
        AssertContext("{}", rows[1][2]);
    }

    [Fact]
    public async Task Context_batch_of_one_still_detects_concurrency_conflicts()
    {
        await using var h = await StartAsync();
        await h.ExecuteAsync("INSERT INTO items (name) VALUES ('a'), ('b')");
        await using (var db = new BatchDb(BatchDb.Options(h.ConnectionString)))
        using (HindsightContext.Push(new { user = "bob" }))
        {
            var a = await db.Items.SingleAsync(i => i.Name == "a");
            var b = await db.Items.SingleAsync(i => i.Name == "b");

            await h.ExecuteAsync("UPDATE items SET qty = 5 WHERE name = 'a'"); // the token (qty) changed behind EF's back
            a.Owner = "bob";
            var e = await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => db.SaveChangesAsync());
            Assert.Same(a, Assert.Single(e.Entries).Entity);
            db.ChangeTracker.Clear();

            await h.ExecuteAsync("DELETE FROM items WHERE name = 'b'"); // deleted by someone else
            db.Items.Attach(b);
            db.Items.Remove(b);
            var d = Assert.Throws<DbUpdateConcurrencyException>(() => db.SaveChanges()); // the synchronous path too
            Assert.Same(b, Assert.Single(d.Entries).Entity);
        }
        await h.CatchUpAsync();

        // Only the seed and the changes made behind EF's back, none of them with a context.
        var rows = await StoredContexts.ItemsAsync(h);
        Assert.Equal(["CREATE a", "CREATE b", "UPDATE a", "DELETE b"], rows.Select(r => r[0] + " " + r[1]).ToArray());
        Assert.All(rows, r => AssertContext("{}", r[2]));
    }

    /// <summary>A batch of 50: 20 inserts (RETURNING id), 15 updates and 15 deletes (rows affected), one conflicting.</summary>
    [Theory]
    [InlineData("update", 0, true)]
    [InlineData("update", 14, false)]
    [InlineData("delete", 0, false)]
    [InlineData("delete", 14, true)]
    public async Task Context_batch_of_fifty_mixed_reports_the_conflicting_entity_and_saves_nothing(string kind, int victim, bool async)
    {
        await using var h = await StartAsync();
        await h.ExecuteAsync("INSERT INTO items (name) SELECT 's' || g FROM generate_series(0, 29) g");
        var victimName = "s" + (kind == "update" ? victim : 15 + victim);
        await using (var db = new BatchDb(BatchDb.Options(h.ConnectionString)))
        using (HindsightContext.Push(new { batch = "conflict" }))
        {
            var seeded = (await db.Items.ToListAsync()).ToDictionary(i => i.Name);
            Mix(db, seeded, "n");
            if (kind == "update") await h.ExecuteAsync("UPDATE items SET qty = 1 WHERE name = $1", victimName);
            else await h.ExecuteAsync("DELETE FROM items WHERE name = $1", victimName);

            var e = async
                ? await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => db.SaveChangesAsync())
                : Assert.Throws<DbUpdateConcurrencyException>(() => db.SaveChanges());
            Assert.Same(seeded[victimName], Assert.Single(e.Entries).Entity);
        }
        await h.ExecuteAsync("INSERT INTO items (name) VALUES ('marker')");
        await h.CatchUpAsync();

        // EF's transaction rolled back: the 30 seeded rows, the change behind EF's back, the marker; nothing with a context.
        var rows = await StoredContexts.ItemsAsync(h);
        Assert.Equal(32, rows.Count);
        Assert.Equal("marker", rows[^1][1]);
        Assert.All(rows, r => AssertContext("{}", r[2]));
    }

    [Fact]
    public async Task Context_batch_of_fifty_mixed_saves_with_context_and_reads_generated_keys_back()
    {
        await using var h = await StartAsync();
        await h.ExecuteAsync("INSERT INTO items (name) SELECT 's' || g FROM generate_series(0, 29) g");
        List<Item> added;
        await using (var db = new BatchDb(BatchDb.Options(h.ConnectionString)))
        {
            using (HindsightContext.Push(new { batch = "ok" }))
            {
                added = Mix(db, (await db.Items.ToListAsync()).ToDictionary(i => i.Name), "n");
                Assert.Equal(50, db.SaveChanges());

                // and a batch of one insert
                added.Add(db.Items.Add(new Item { Name = "single" }).Entity);
                Assert.Equal(1, await db.SaveChangesAsync());
            }
        }

        // Identity values read back from RETURNING landed on the right entities.
        foreach (var item in added)
            Assert.Equal(item.Id, await h.ScalarAsync<int>("SELECT id FROM items WHERE name = $1", item.Name));
        Assert.Equal(added.Count, added.Select(i => i.Id).Distinct().Count());

        await h.CatchUpAsync();
        var rows = await StoredContexts.ItemsAsync(h);
        Assert.Equal(30 + 51, rows.Count);
        Assert.All(rows.Take(30), r => AssertContext("{}", r[2]));
        Assert.All(rows.Skip(30), r => AssertContext("""{"batch":"ok"}""", r[2]));
        Assert.Equal(15, rows.Count(r => r[0] == "UPDATE"));
        Assert.Equal(15, rows.Count(r => r[0] == "DELETE"));
    }

    [Fact]
    public async Task Context_SaveChanges_split_into_several_commands_carries_the_context_in_each()
    {
        await using var h = await StartAsync();
        var trips = new RoundTrips();
        var slot = await StoredContexts.StartCountingMessagesAsync(h);
        await using (var db = new BatchDb(BatchDb.Options(h.ConnectionString, maxBatchSize: 10, trips)))
        using (HindsightContext.Push(new { job = "split" }))
        {
            for (var i = 0; i < 35; i++) db.Items.Add(new Item { Name = "r" + i });
            Assert.Equal(35, await db.SaveChangesAsync());
        }

        Assert.Equal(4, trips.SaveChangesCommands.Count); // 10 + 10 + 10 + 5
        Assert.All(trips.SaveChangesCommands, sql => Assert.StartsWith(EmitPrefix, sql));
        Assert.Equal(1, trips.Transactions); // EF's own, as without Hindsight

        await h.CatchUpAsync(); // also: the WAL is flushed past the commit, so the peek below sees it
        // One message per command. (Counted after the catch-up, which flushes the WAL the peek reads, and writes a
        // 'hindsight-sync' message of its own, hence the exact prefix.)
        Assert.Equal(4, await h.ScalarAsync<long>(
            "SELECT count(*) FROM pg_logical_slot_peek_changes($1, NULL, NULL) WHERE data LIKE 'message: transactional: 1 prefix: hindsight,%split%'", slot));
        await h.ExecuteAsync("SELECT pg_drop_replication_slot($1)", slot);
        var rows = await StoredContexts.ItemsAsync(h);
        Assert.Equal(35, rows.Count);
        Assert.All(rows, r => AssertContext("""{"job":"split"}""", r[2]));
    }

    // 20 inserts, updates of s0..s14 (owner), deletes of s15..s29: 50 modification commands in one SaveChanges.
    private static List<Item> Mix(BatchDb db, Dictionary<string, Item> seeded, string prefix)
    {
        var added = new List<Item>();
        for (var i = 0; i < 20; i++) added.Add(db.Items.Add(new Item { Name = prefix + i }).Entity);
        for (var i = 0; i < 15; i++) seeded["s" + i].Owner = "o";
        for (var i = 15; i < 30; i++) db.Items.Remove(seeded["s" + i]);
        return added;
    }
}
