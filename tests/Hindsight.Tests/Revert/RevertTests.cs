using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Revert;

/// <summary>Revert against the real server: state compared by PostgreSQL (<c>to_jsonb</c> of copies taken before).</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class RevertTests(PostgresFixture fixture)
{
    private const string Schema =
        """
        CREATE TABLE orders (id int PRIMARY KEY, total numeric(12,2), doc jsonb, placed timestamptz, tags text[],
                             twice int GENERATED ALWAYS AS (id * 2) STORED);
        CREATE TABLE lines (order_id int, line int, qty numeric, attrs jsonb, at timestamptz, PRIMARY KEY (order_id, line));
        CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);
        CREATE TABLE "we""ird; 'x" (id int PRIMARY KEY, "co""l" text);
        CREATE SCHEMA copies; -- not captured: the harness tracks schema public
        INSERT INTO orders VALUES (1, 10.50, '{"a": [1, 2.50, null]}', '2025-01-31 12:00:00.123456+02', '{x,"y z",NULL}'),
                                  (2, 99.99, '{"b": {"c": "O''Brien"}}', '2024-02-29 00:00:00+00', '{}');
        INSERT INTO lines VALUES (1, 1, 3.000, '{"k": 1}', now()), (1, 2, 0.5, NULL, NULL), (2, 1, 1e-20, '[]', '1999-12-31 23:59:59.999999+00');
        INSERT INTO items (name) VALUES ('first'), ('second');
        """;

    private static readonly string[] Tables = ["orders", "lines", "items"];

    private static async Task<CaptureHarness> StartAsync(PostgresFixture fixture)
    {
        var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        foreach (var t in Tables) await h.ExecuteAsync($"CREATE TABLE copies.{t} AS SELECT * FROM {t}");
        return h;
    }

    /// <summary>Mixed insert/update/delete over the tables in one transaction; returns its xid as stored.</summary>
    private static async Task<long> MixedTransactionAsync(CaptureHarness h)
    {
        await h.ExecuteAsync(
            """
            BEGIN;
            INSERT INTO orders VALUES (3, 1.00, '{"new": true}', now(), '{q}');
            UPDATE orders SET total = 11.75, doc = doc || '{"z": 1}', tags = array_append(tags, 'w'), placed = placed + interval '1 day' WHERE id = 1;
            DELETE FROM orders WHERE id = 2;
            INSERT INTO lines VALUES (3, 1, 7, '{"n": 1}', now());
            UPDATE lines SET qty = qty * 2, attrs = '{"k": 2}' WHERE order_id = 1 AND line = 1;
            DELETE FROM lines WHERE order_id = 2 AND line = 1;
            DELETE FROM items WHERE name = 'second';
            UPDATE items SET name = 'renamed' WHERE name = 'first';
            COMMIT;
            """);
        await h.CatchUpAsync();
        return await h.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE \"table\" = 'orders' AND primary_key = '3'");
    }

    private static async Task<bool> SameAsCopiesAsync(CaptureHarness h)
    {
        foreach (var t in Tables)
        {
            var same = await h.ScalarAsync<bool>(
                $"SELECT (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY to_jsonb(x)), '[]') FROM {t} x) = (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY to_jsonb(x)), '[]') FROM copies.{t} x)");
            if (!same) return false;
        }
        return true;
    }

    [Fact]
    public async Task Reverting_one_transaction_restores_the_prior_state_of_its_rows()
    {
        await using var h = await StartAsync(fixture);
        var xid = await MixedTransactionAsync(h);
        Assert.False(await SameAsCopiesAsync(h));

        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { TransactionId = xid });
        Assert.Empty(plan.Conflicts);
        Assert.Equal(8, plan.Statements.Count);
        Assert.Contains(plan.Statements, s => s.Sql.Contains("OVERRIDING SYSTEM VALUE", StringComparison.Ordinal));
        Assert.DoesNotContain(plan.Statements, s => s.Sql.Contains("twice", StringComparison.Ordinal)); // generated: never written
        var result = await reverter.ApplyAsync(plan);
        Assert.True(result.Applied);
        Assert.All(result.RowsAffected, n => Assert.Equal(1, n));
        Assert.True(await SameAsCopiesAsync(h));
    }

    [Fact]
    public async Task A_later_conflicting_change_is_reported_and_nothing_changes_unless_forced()
    {
        await using var h = await StartAsync(fixture);
        var xid = await MixedTransactionAsync(h);
        await h.ExecuteAsync("UPDATE orders SET doc = '{\"later\": 1}' WHERE id = 1");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { TransactionId = xid });
        var conflict = Assert.Single(plan.Conflicts);
        Assert.Equal("1", conflict.PrimaryKey);
        Assert.NotNull(conflict.LaterChangeId);

        var snapshot = await h.ScalarAsync<string>("SELECT jsonb_agg(to_jsonb(o) ORDER BY id)::text FROM orders o");
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.ApplyAsync(plan));
        Assert.Contains("force", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(snapshot, await h.ScalarAsync<string>("SELECT jsonb_agg(to_jsonb(o) ORDER BY id)::text FROM orders o"));

        var forced = await reverter.ApplyAsync(plan, force: true);
        Assert.True(forced.Applied);
        Assert.True(await SameAsCopiesAsync(h)); // the changed columns of row 1 (doc among them) are set back
    }

    [Fact]
    public async Task A_source_change_the_store_has_not_caught_up_with_is_a_conflict()
    {
        await using var h = await StartAsync(fixture);
        var xid = await MixedTransactionAsync(h);
        await h.StopWorkerAsync();
        await h.ExecuteAsync("UPDATE lines SET qty = 42 WHERE order_id = 3");
        var plan = await new Reverter(h.Source, h.Source).PlanAsync(new RevertSelection { TransactionId = xid });
        var conflict = Assert.Single(plan.Conflicts);
        Assert.Null(conflict.LaterChangeId);
        Assert.Contains("catch up", conflict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_returns_the_sql_with_parameters_and_changes_nothing()
    {
        await using var h = await StartAsync(fixture);
        var xid = await MixedTransactionAsync(h);
        var reverter = new Reverter(h.Source, h.Source);
        var before = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");
        var result = await reverter.ApplyAsync(await reverter.PlanAsync(new RevertSelection { TransactionId = xid }), dryRun: true);
        Assert.False(result.Applied);
        Assert.Contains("DELETE FROM \"public\".\"orders\"", result.Sql, StringComparison.Ordinal);
        Assert.Contains("-- $1 = {", result.Sql, StringComparison.Ordinal);
        Assert.Contains("revertOf", result.Sql, StringComparison.Ordinal);
        await h.CatchUpAsync();
        Assert.Equal(before, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));
        Assert.Equal(1, await h.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 3"));
    }

    [Fact]
    public async Task The_revert_is_captured_with_its_own_context()
    {
        await using var h = await StartAsync(fixture);
        var xid = await MixedTransactionAsync(h);
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { TransactionId = xid });
        await reverter.ApplyAsync(plan, new JsonObject { ["requestedBy"] = "alice" });
        await h.CatchUpAsync();
        var ctx = new JsonObject { ["requestedBy"] = "alice", ["hindsight"] = new JsonObject { ["revertOf"] = new JsonObject { ["transaction"] = xid } } }.ToJsonString();
        Assert.Equal(plan.Statements.Count, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE context @> $1::jsonb", ctx));
        Assert.Equal(plan.Statements.Count, await h.ScalarAsync<long>(
            "SELECT count(*) FROM hindsight.changes WHERE transaction_id <> $1 AND committed_at > (SELECT max(committed_at) FROM hindsight.changes WHERE transaction_id = $1)", xid));
    }

    [Fact]
    public async Task A_change_already_reverted_is_reported_as_such_and_cannot_be_forced_again()
    {
        await using var h = await StartAsync(fixture);
        await h.ExecuteAsync("UPDATE orders SET total = 12.25 WHERE id = 1");
        await h.CatchUpAsync();
        var id = await h.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes WHERE \"table\" = 'orders' AND primary_key = '1'");
        var reverter = new Reverter(h.Source, h.Source);
        await reverter.ApplyAsync(await reverter.PlanAsync(new RevertSelection { ChangeId = id }));
        await h.CatchUpAsync();
        var revertId = await h.ScalarAsync<long>(
            "SELECT id FROM hindsight.changes WHERE context -> 'hindsight' -> 'revertOf' -> 'changes' @> to_jsonb($1::bigint)", id);
        var total = await h.ScalarAsync<string>("SELECT total::text FROM orders WHERE id = 1");

        // Planned again: the later change is that revert, named as such, not a conflict to overwrite.
        var plan = await reverter.PlanAsync(new RevertSelection { ChangeId = id });
        var conflict = Assert.Single(plan.Conflicts);
        Assert.True(conflict.AlreadyReverted);
        Assert.Equal(revertId, conflict.LaterChangeId);
        Assert.StartsWith($"already reverted by change {revertId} (UPDATE at ", conflict.Reason, StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.ApplyAsync(plan, force: true));
        Assert.Contains($"to undo the revert, revert change {revertId}", e.Message, StringComparison.Ordinal);
        Assert.Equal(total, await h.ScalarAsync<string>("SELECT total::text FROM orders WHERE id = 1")); // nothing written

        // A later change by someone else is still an ordinary conflict, which force overwrites.
        await h.ExecuteAsync("UPDATE orders SET total = 13.50 WHERE id = 1");
        await h.CatchUpAsync();
        var later = await reverter.PlanAsync(new RevertSelection { ChangeId = revertId });
        Assert.False(Assert.Single(later.Conflicts).AlreadyReverted);
    }

    [Fact]
    public async Task Reverting_by_context_touches_only_that_requests_rows()
    {
        await using var h = await StartAsync(fixture);
        foreach (var r in new[] { 1, 2, 3 })
        {
            await h.ExecuteAsync(
                $$"""
                BEGIN;
                SELECT pg_logical_emit_message(true, 'hindsight', '{"requestId":"r-{{r}}"}');
                INSERT INTO orders VALUES ({{10 + r}}, {{r}}, NULL, NULL, NULL);
                UPDATE lines SET qty = qty + {{r}} WHERE order_id = 1 AND line = {{(r == 2 ? 2 : 1)}};
                COMMIT;
                """);
        }
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { Filter = new ChangeFilter { Context = """{"requestId":"r-2"}""" } });
        Assert.Equal(2, plan.Statements.Count);
        Assert.Empty(plan.Conflicts);
        await reverter.ApplyAsync(plan);
        var orders = await h.RowsAsync("SELECT id FROM orders WHERE id > 10 ORDER BY id");
        Assert.Equal(["11", "13"], orders.Select(r => r[0]));
        Assert.True(await h.ScalarAsync<bool>("SELECT (SELECT qty FROM lines WHERE order_id = 1 AND line = 2) = 0.5"));
        Assert.True(await h.ScalarAsync<bool>("SELECT (SELECT qty FROM lines WHERE order_id = 1 AND line = 1) = 7"));
    }

    [Fact]
    public async Task A_table_name_with_quotes_is_safe()
    {
        await using var h = await StartAsync(fixture);
        await h.ExecuteAsync("INSERT INTO \"we\"\"ird; 'x\" VALUES (1, 'x''); DROP TABLE orders; --')");
        await h.ExecuteAsync("UPDATE \"we\"\"ird; 'x\" SET \"co\"\"l\" = 'changed' WHERE id = 1");
        await h.CatchUpAsync();
        var id = await h.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes WHERE \"table\" = $1", "we\"ird; 'x");
        var reverter = new Reverter(h.Source, h.Source);
        await reverter.ApplyAsync(await reverter.PlanAsync(new RevertSelection { ChangeId = id }));
        Assert.Equal("x'); DROP TABLE orders; --", await h.ScalarAsync<string>("SELECT \"co\"\"l\" FROM \"we\"\"ird; 'x\" WHERE id = 1"));
        Assert.Equal(2, await h.ScalarAsync<long>("SELECT count(*) FROM orders"));
    }

    [Fact]
    public async Task A_truncate_or_an_empty_selection_is_refused_clearly()
    {
        await using var h = await StartAsync(fixture);
        await h.ExecuteAsync("TRUNCATE items");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(new RevertSelection { Filter = new ChangeFilter { Tables = [new TableName(null, "items")] } }));
        Assert.Contains("not revertible from the trail alone", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => reverter.PlanAsync(new RevertSelection()));
        await Assert.ThrowsAsync<ArgumentException>(() => reverter.PlanAsync(new RevertSelection { Filter = new ChangeFilter() }));
        await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(new RevertSelection { ChangeId = 999_999 }));
    }

    [Fact]
    public async Task Cli_revert_dry_run_refusal_force_and_bad_input()
    {
        await using var h = await StartAsync(fixture);
        var xid = await MixedTransactionAsync(h);
        var src = h.ConnectionString;
        static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => CliRun.RunAsync(args);

        var dry = await RunAsync("revert", "--source", src, "--transaction", xid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dry-run");
        Assert.Equal(0, dry.Code);
        Assert.Contains("dry run: nothing was changed", dry.Out, StringComparison.Ordinal);
        Assert.Contains("INSERT INTO \"public\".\"orders\"", dry.Out, StringComparison.Ordinal);
        Assert.Equal(1, await h.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 3"));

        var none = await RunAsync("revert", "--source", src);
        Assert.Equal(1, none.Code);
        Assert.Single(none.Err.Trim().Split('\n'));
        Assert.Contains("--change", none.Err, StringComparison.Ordinal);
        var both = await RunAsync("revert", "--source", src, "--change", "1", "--transaction", "2");
        Assert.Equal(1, both.Code);
        var badJson = await RunAsync("revert", "--source", src, "--context", "[1]");
        Assert.Equal(1, badJson.Code);
        Assert.Contains("JSON object", badJson.Err, StringComparison.Ordinal);

        await h.ExecuteAsync("UPDATE lines SET qty = 9 WHERE order_id = 3");
        await h.CatchUpAsync();
        var refused = await RunAsync("revert", "--source", src, "--transaction", xid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, refused.Code);
        Assert.Contains("conflicts: 1", refused.Out, StringComparison.Ordinal);
        Assert.Contains("--force", refused.Err, StringComparison.Ordinal);
        Assert.Equal(1, await h.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 3"));

        var forced = await RunAsync("revert", "--source", src, "--transaction", xid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--force",
            "--format", "json", "--with-context", "{\"requestedBy\":\"cli\"}");
        Assert.Equal(0, forced.Code);
        using var doc = System.Text.Json.JsonDocument.Parse(forced.Out);
        Assert.True(doc.RootElement.GetProperty("applied").GetBoolean());
        Assert.Equal(8, doc.RootElement.GetProperty("statements").GetArrayLength());
        Assert.True(await SameAsCopiesAsync(h));
    }

    [Fact]
    public async Task A_revert_can_itself_be_reverted_by_its_context_and_a_transaction_by_its_commit_lsn()
    {
        await using var h = await StartAsync(fixture);
        var xid = await MixedTransactionAsync(h);
        await h.ExecuteAsync("CREATE TABLE copies.after_orders AS SELECT * FROM orders");
        var lsn = await h.ScalarAsync<long>("SELECT max(commit_lsn) FROM hindsight.changes WHERE transaction_id = $1", xid);
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { CommitLsn = lsn });
        Assert.Equal(8, plan.Statements.Count);
        await reverter.ApplyAsync(plan);
        await h.CatchUpAsync();
        Assert.True(await SameAsCopiesAsync(h));

        // Redo: the revert's own changes, found by its context, reverted in turn.
        var undo = new JsonObject { ["hindsight"] = new JsonObject { ["revertOf"] = new JsonObject { ["commitLsn"] = plan.Selection.ToJson()["commitLsn"]!.DeepClone() } } };
        var redo = await reverter.PlanAsync(new RevertSelection { Filter = new ChangeFilter { Context = undo.ToJsonString() } });
        Assert.Equal(8, redo.Statements.Count);
        Assert.Empty(redo.Conflicts);
        await reverter.ApplyAsync(redo);
        Assert.True(await h.ScalarAsync<bool>(
            "SELECT (SELECT jsonb_agg(to_jsonb(x) ORDER BY id) FROM orders x) = (SELECT jsonb_agg(to_jsonb(x) ORDER BY id) FROM copies.after_orders x)"));
    }

    [Fact]
    public async Task A_revert_that_would_write_a_column_dropped_since_is_refused_and_changes_nothing()
    {
        await using var h = await StartAsync(fixture);
        await h.ExecuteAsync("DELETE FROM orders WHERE id = 2");
        await h.CatchUpAsync();
        await h.ExecuteAsync("ALTER TABLE orders DROP COLUMN tags");
        await h.CatchUpAsync();
        var id = await h.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes WHERE \"table\" = 'orders'");
        var reverter = new Reverter(h.Source, h.Source);
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(new RevertSelection { ChangeId = id }));
        Assert.Contains("no longer has column(s) tags", e.Message);
        Assert.Contains("column tags dropped (ALTER TABLE at", e.Message);
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 2"));
    }

    [Fact]
    public async Task A_row_changed_between_planning_and_applying_is_refused_and_nothing_changes()
    {
        await using var h = await StartAsync(fixture);
        var xid = await MixedTransactionAsync(h);
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { TransactionId = xid });
        Assert.Empty(plan.Conflicts);
        await h.ExecuteAsync("UPDATE orders SET total = 0 WHERE id = 1");
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.ApplyAsync(plan));
        Assert.Contains("changed since the plan was made", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, await h.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 3"));
        Assert.Equal("0.00", await h.ScalarAsync<string>("SELECT total::text FROM orders WHERE id = 1"));
    }
}
