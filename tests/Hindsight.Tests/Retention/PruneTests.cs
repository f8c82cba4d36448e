using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Retention;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Retention;

/// <summary>
/// Pruning keeps time travel true: after the changes before a horizon are pruned, as-of at the horizon and at two later
/// moments equals real copies of the tables taken then (compared by PostgreSQL as <c>to_jsonb</c>), through deletes,
/// truncates and re-inserts of the same keys; held changes stay; whole partitions older than the horizon are dropped;
/// and bad input changes nothing.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class PruneTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Schema =
        """
        CREATE TABLE items (id int PRIMARY KEY, name text, qty int);
        CREATE TABLE pairs (a int, b text, v jsonb, PRIMARY KEY (a, b));
        CREATE SCHEMA copies; -- not tracked: the harness tracks schema public
        """;

    [Fact]
    public async Task As_of_at_and_after_the_horizon_equals_copies_of_the_tables_taken_then()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();

        // Before the horizon: inserts, updates, deletes, a TRUNCATE, keys deleted and inserted again.
        await h.ExecuteAsync("INSERT INTO items SELECT g, 'first ' || g, g FROM generate_series(1, 300) g");
        await h.ExecuteAsync("INSERT INTO pairs SELECT g % 20, 'k' || (g / 20), jsonb_build_object('n', g) FROM generate_series(1, 200) g");
        await h.ExecuteAsync("UPDATE items SET qty = qty * 10 WHERE id % 3 = 0");
        await h.ExecuteAsync("DELETE FROM items WHERE id % 7 = 0");
        await h.ExecuteAsync("TRUNCATE pairs");
        await h.ExecuteAsync("INSERT INTO pairs SELECT g % 10, 'k' || (g / 10), jsonb_build_object('again', g) FROM generate_series(1, 60) g");
        await h.ExecuteAsync("INSERT INTO items SELECT g, 'second ' || g, -g FROM generate_series(1, 300) g WHERE g % 7 = 0 AND g % 2 = 0");
        await h.ExecuteAsync("DELETE FROM items WHERE id > 280");
        var horizon = await CopyAsync(h, "h");

        // After it: changes of rows from before, keys deleted and re-inserted, another TRUNCATE and its re-fill.
        await h.ExecuteAsync("UPDATE items SET name = name || ' later' WHERE id % 5 = 0");
        await h.ExecuteAsync("DELETE FROM items WHERE id % 11 = 0");
        await h.ExecuteAsync("INSERT INTO items VALUES (290, 'back', 1), (7, 'seven again', 7) ON CONFLICT (id) DO UPDATE SET name = excluded.name");
        var t1 = await CopyAsync(h, "t1");
        await h.ExecuteAsync("TRUNCATE pairs");
        await h.ExecuteAsync("INSERT INTO pairs VALUES (1, 'k1', '{\"third\": true}'), (2, 'k2', null)");
        await h.ExecuteAsync("UPDATE items SET qty = 0 WHERE id < 50");
        var t2 = await CopyAsync(h, "t2");
        await h.CatchUpAsync();

        var before = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE committed_at < $1", horizon);
        var firstId = await h.ScalarAsync<long>("SELECT min(id) FROM hindsight.changes");
        var result = await new Pruner(h.Source).PruneAsync(horizon, []);
        output.WriteLine($"pruned {result.Pruned} of {before} changes before the horizon, folded {result.Folded} rows; tables: " +
                         string.Join("; ", result.Tables.Select(t => $"{t.Table} {t.Pruned}/{t.Folded}/{t.Held}")));
        Assert.Equal(before, result.Pruned);
        // One SNAPSHOT per row that existed at the horizon, and nothing else older than it.
        Assert.Equal(await h.ScalarAsync<long>("SELECT (SELECT count(*) FROM copies.items_h) + (SELECT count(*) FROM copies.pairs_h)"), result.Folded);
        Assert.Equal(result.Folded, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE committed_at <= $1", horizon));
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE committed_at <= $1 AND operation <> 'SNAPSHOT'", horizon));

        var trail = new AuditTrail(h.Source);
        foreach (var (moment, copy) in new[] { (horizon, "h"), (t1, "t1"), (t2, "t2") })
        {
            await AssertAsOfAsync(h, trail, "items", ["id"], moment, copy);
            await AssertAsOfAsync(h, trail, "pairs", ["a", "b"], moment, copy);
        }

        // Before the horizon, as-of and rollback refuse plainly; history says where it now starts.
        var refused = await Assert.ThrowsAsync<AuditQueryException>(() => trail.AsOfAsync(new TableName("public", "items"), horizon.AddMilliseconds(-1)));
        Assert.Contains("was pruned up to", refused.Message);
        var history = await trail.HistoryAsync(new TableName("public", "items"), "3");
        Assert.Equal(horizon, history.PrunedUpTo);
        Assert.Equal([Operation.Snapshot, Operation.Update], history.Versions.Select(v => v.Change.Operation));
        Assert.Equal(horizon, history.Versions[0].Change.CommittedAt);
        var reverter = new Hindsight.Revert.Reverter(h.Source, h.Source);
        var rollback = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(new Hindsight.Revert.RevertSelection
        {
            RollbackTo = new Hindsight.Revert.RollbackTarget([new TableName("public", "items")], horizon.AddSeconds(-1)),
        }));
        Assert.Contains("was pruned up to", rollback.Message);
        var byId = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(new Hindsight.Revert.RevertSelection { ChangeId = firstId }));
        Assert.Contains("were pruned", byId.Message);
        output.WriteLine(byId.Message);

        // Pruning again at the same horizon finds nothing more to take, and as-of is still right.
        var again = await new Pruner(h.Source).PruneAsync(horizon, []);
        Assert.Equal(0L, again.Pruned);
        await AssertAsOfAsync(h, trail, "items", ["id"], t1, "t1");
    }

    [Fact]
    public async Task Held_changes_stay_and_whole_partitions_before_the_horizon_are_dropped()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        // Changes written straight into the store with commit times months ago, so that whole partitions are old.
        const string Insert =
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, context, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            SELECT 'src', 'db', 'public', 'items', (g % 50)::text, CASE WHEN g <= 50 THEN 'CREATE' ELSE 'UPDATE' END,
                   jsonb_build_object('id', g % 50, 'n', g), CASE WHEN g % 50 = 7 THEN '{"case": "C-1"}'::jsonb ELSE '{}' END,
                   $1::timestamptz + g * interval '1 hour', g, g, 1000 + g, 1, now()
            FROM generate_series(1, 1000) g
            """;
        await h.ExecuteAsync("UPDATE hindsight.settings SET value = 'month' WHERE name = 'partition_period'");
        await h.ExecuteAsync(Insert, "2025-01-01T00:00:00Z");
        await h.ExecuteAsync("SELECT hindsight.maintain_change_partitions()");
        var pruner = new Pruner(h.Source);
        var hold = await pruner.HoldAsync(new TableName(null, "items"), null, new System.Text.Json.Nodes.JsonObject { ["case"] = "C-1" }, "case C-1");
        Assert.Contains(await pruner.HoldsAsync(), x => x.Id == hold.Id && x.Reason == "case C-1");

        var horizon = new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.Zero); // January's 743 hours of changes are before it
        var dry = await pruner.PruneAsync(horizon, [], dryRun: true);
        Assert.Equal(1000L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));
        var held = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE committed_at < $1 AND context @> '{\"case\": \"C-1\"}'", horizon);
        var old = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE committed_at < $1", horizon);
        Assert.Equal(old - held, dry.Pruned);
        Assert.Equal(held, dry.Tables.Single().Held);

        // With a hold in January's partition, it is emptied row by row and kept; without one it is dropped whole.
        var result = await pruner.PruneAsync(horizon, []);
        Assert.Equal(dry.Pruned, result.Pruned);
        Assert.Empty(result.DroppedPartitions);
        Assert.Equal(held, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE committed_at < $1", horizon));
        Assert.True(await pruner.ReleaseHoldAsync(hold.Id));
        var later = new DateTimeOffset(2025, 2, 10, 0, 0, 0, TimeSpan.Zero);
        result = await pruner.PruneAsync(later, []);
        Assert.Equal(["hindsight.changes_p20250101"], result.DroppedPartitions);
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.change_partitions() WHERE partition::text = 'hindsight.changes_p20250101'"));
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE committed_at < $1 AND operation <> 'SNAPSHOT'", later));
        // Each of the 50 keys existed at the horizon: one SNAPSHOT each, its image the newest before the horizon.
        Assert.Equal(50L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE operation = 'SNAPSHOT' AND committed_at = $1", later));
        Assert.Equal(0L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM hindsight.changes s
            WHERE s.operation = 'SNAPSHOT' AND s.committed_at = $1
              AND s.after <> jsonb_build_object('id', s.primary_key::int, 'n', (SELECT max(g) FROM generate_series(1, 1000) g
                                                                                WHERE g % 50 = s.primary_key::int AND timestamptz '2025-01-01' + g * interval '1 hour' < $1))
            """, later));
        Assert.Equal(2L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.prunes WHERE \"table\" = 'items'"));
    }

    [Fact]
    public async Task Two_sources_with_the_same_names_and_keys_are_each_folded_into_their_own_state()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        // Two sources of the same database, schema and table names, the same 30 keys, each with its own values and
        // commit LSNs, hourly through January and February 2025; west deletes every third key on 2025-01-20.
        await h.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            SELECT s.name, 'shop', 'public', 'items', (g % 30)::text,
                   CASE WHEN g < 30 THEN 'CREATE' WHEN s.name = 'west' AND g % 3 = 0 AND g BETWEEN 456 AND 485 THEN 'DELETE' ELSE 'UPDATE' END,
                   CASE WHEN s.name = 'west' AND g % 3 = 0 AND g BETWEEN 456 AND 485 THEN '{}'::jsonb
                        ELSE jsonb_build_object('id', g % 30, 'name', s.name, 'qty', g * s.factor) END,
                   timestamptz '2025-01-01Z' + g * interval '1 hour', g, g, s.base + g, 1, now()
            FROM generate_series(0, 1400) g, (VALUES ('east', 1, 100000), ('west', -1, 500000)) s(name, factor, base)
            WHERE NOT (s.name = 'west' AND g % 3 = 0 AND g > 485) -- deleted keys stay deleted
            """);
        await h.ExecuteAsync("SELECT hindsight.maintain_change_partitions()");
        var horizon = new DateTimeOffset(2025, 2, 10, 0, 0, 0, TimeSpan.Zero);
        // The state of each source's rows at the horizon, by PostgreSQL, before anything is pruned.
        await h.ExecuteAsync(
            """
            CREATE TABLE copies.state AS
            SELECT DISTINCT ON (source, primary_key) source, primary_key, operation, after
            FROM hindsight.changes WHERE committed_at < $1 ORDER BY source, primary_key, committed_at DESC
            """, horizon.UtcDateTime);
        // As-of at the horizon also counts the changes committed at it (they are kept).
        await h.ExecuteAsync(
            """
            CREATE TABLE copies.state_at AS
            SELECT DISTINCT ON (source, primary_key) source, primary_key, operation, after
            FROM hindsight.changes WHERE committed_at <= $1 ORDER BY source, primary_key, committed_at DESC
            """, horizon.UtcDateTime);
        await h.ScalarAsync<long>("SELECT hindsight.count_changes()");

        var result = await new Pruner(h.Source).PruneAsync(horizon, []);
        Assert.Equal(["east", "west"], result.Tables.Select(t => t.Source).Order(StringComparer.Ordinal));
        Assert.Contains("hindsight.changes_p20250101", result.DroppedPartitions);
        // One SNAPSHOT per row each source had at the horizon, with that source's image and a commit LSN of its own.
        Assert.Equal(0L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM copies.state s FULL JOIN (SELECT * FROM hindsight.changes WHERE operation = 'SNAPSHOT') c
                ON c.source = s.source AND c.primary_key = s.primary_key
            WHERE s.operation = 'DELETE' AND c.id IS NOT NULL
               OR s.operation <> 'DELETE' AND (c.id IS NULL OR c.after <> s.after)
               OR s.source IS NULL
            """));
        Assert.Equal(0L, await h.ScalarAsync<long>(
            "SELECT count(*) FROM hindsight.changes WHERE operation = 'SNAPSHOT' AND commit_lsn NOT BETWEEN CASE source WHEN 'east' THEN 100000 ELSE 500000 END AND CASE source WHEN 'east' THEN 101400 ELSE 501400 END"));
        // As-of of each source at the horizon is that source's state.
        var trail = new AuditTrail(h.Source);
        foreach (var source in new[] { "east", "west" })
        {
            var asOf = await trail.AsOfAsync(new TableName("public", "items"), horizon, source: source);
            var expected = await h.RowsAsync("SELECT primary_key, after::text FROM copies.state_at WHERE source = $1 AND operation <> 'DELETE' ORDER BY primary_key COLLATE \"C\"", source);
            Assert.Equal(expected.Select(r => r[0] + " " + System.Text.Json.Nodes.JsonNode.Parse(r[1])!.ToJsonString()),
                asOf.Rows.Select(r => r.PrimaryKey + " " + r.Row.ToJsonString()));
        }
        Assert.Equal(20, (await trail.AsOfAsync(new TableName("public", "items"), horizon, source: "west")).Rows.Count);
    }

    [Fact]
    public async Task Bad_input_is_refused_clearly_and_nothing_is_removed()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        await h.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            VALUES ('src', 'db', 'public', 'items', '1', 'CREATE', '{"id": 1}', now() - interval '30 days', 1, 1, 1, 1, now())
            """);
        (string[] Args, string Expected)[] cases =
        [
            (["prune", "--older-than", "0d"], "must be more than 0"),
            (["prune", "--older-than", "-5d"], "must be more than 0"),
            (["prune", "--older-than", "ninety"], "hours, days or weeks"),
            (["prune"], "--older-than 90d, or --before"),
            (["prune", "--older-than", "1d", "--before", "2026-01-01"], "not both"),
            (["prune", "--before", "2999-01-01"], "is in the future"),
            (["prune", "--older-than", "1h", "--table", "nosuch"], "unknown table nosuch"),
            (["retention", "set", "--table", "items", "--keep", "0h"], "must be more than 0"),
            (["hold", "add", "--table", "items"], "needs a reason"),
            (["hold", "add", "--reason", "x"], "needs a table, a context"),
        ];
        foreach (var (args, expected) in cases)
        {
            var (code, _, err) = await CliRun.RunAsync(output, [.. args, "--source", h.ConnectionString]);
            Assert.Equal(1, code);
            Assert.Contains(expected, err);
        }
        Assert.Equal(1L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT (SELECT count(*) FROM hindsight.prunes) + (SELECT count(*) FROM hindsight.legal_holds) + (SELECT count(*) FROM hindsight.retention_policies)"));
    }

    /// <summary>Copies every tracked table as it is now into schema copies (suffix <paramref name="suffix"/>); returns the moment, on the server's clock.</summary>
    private static async Task<DateTimeOffset> CopyAsync(CaptureHarness h, string suffix)
    {
        await Task.Delay(20);
        var at = await h.ScalarAsync<DateTime>("SELECT clock_timestamp()");
        await h.ExecuteAsync($"CREATE TABLE copies.items_{suffix} AS SELECT * FROM items; CREATE TABLE copies.pairs_{suffix} AS SELECT * FROM pairs");
        await Task.Delay(20);
        return new DateTimeOffset(at, TimeSpan.Zero);
    }

    private async Task AssertAsOfAsync(CaptureHarness h, AuditTrail trail, string table, string[] keys, DateTimeOffset moment, string copy)
    {
        var asOf = await trail.AsOfAsync(new TableName("public", table), moment);
        var differences = await RowSets.DifferencesAsync(h.Source, $"SELECT to_jsonb(x) AS j FROM copies.{table}_{copy} x", asOf.Rows, keys);
        foreach (var d in differences.Take(10)) output.WriteLine($"{table} as of {copy}: expected {d.Expected} vs as-of {d.Actual}");
        Assert.Empty(differences);
        Assert.Equal(await h.ScalarAsync<long>($"SELECT count(*) FROM copies.{table}_{copy}"), asOf.Rows.Count);
    }
}
