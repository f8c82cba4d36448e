using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Revert;

/// <summary>
/// Reverts and rollbacks over foreign keys (cascades, several levels, self-referencing trees, children moved between
/// parents, SET NULL, deferrable keys, cycles), against the real server. The oracle is PostgreSQL itself: copies of the
/// tables taken before a request (CREATE TABLE … AS SELECT in the untracked schema copies), compared row for row with
/// <c>to_jsonb</c> both ways.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class RevertForeignKeyTests(PostgresFixture fixture)
{
    // Every foreign key NOT DEFERRABLE unless it says so.
    private const string Schema =
        """
        CREATE TABLE orders (id int PRIMARY KEY, customer text);
        CREATE TABLE items (order_id int REFERENCES orders ON DELETE CASCADE, line int, product text, PRIMARY KEY (order_id, line));
        CREATE TABLE item_notes (order_id int, line int, seq int, note text, PRIMARY KEY (order_id, line, seq),
                                 FOREIGN KEY (order_id, line) REFERENCES items ON DELETE CASCADE);
        CREATE TABLE node (id int PRIMARY KEY, parent_id int REFERENCES node ON DELETE CASCADE, label text);
        CREATE TABLE teams (id int PRIMARY KEY, name text);
        CREATE TABLE players (id int PRIMARY KEY, team_id int REFERENCES teams ON DELETE CASCADE ON UPDATE CASCADE, name text);
        CREATE TABLE accounts (id int PRIMARY KEY, name text);
        CREATE TABLE members (id int PRIMARY KEY, account_id int REFERENCES accounts ON DELETE SET NULL, name text);
        CREATE TABLE dparent (id int PRIMARY KEY, v text);
        CREATE TABLE dchild (id int PRIMARY KEY, parent_id int REFERENCES dparent DEFERRABLE INITIALLY IMMEDIATE, v text);
        CREATE TABLE dpair (id int PRIMARY KEY, other int REFERENCES dpair DEFERRABLE INITIALLY IMMEDIATE);
        CREATE TABLE pair (id int PRIMARY KEY, other int CONSTRAINT pair_other_fk REFERENCES pair);
        CREATE SCHEMA copies; -- not captured: the harness tracks schema public
        """;

    private static readonly string[] Tables =
        ["orders", "items", "item_notes", "node", "teams", "players", "accounts", "members", "dparent", "dchild", "dpair", "pair"];

    private const string Seed =
        """
        INSERT INTO orders VALUES (1, 'alice'), (2, 'bob');
        INSERT INTO items VALUES (1, 1, 'pen'), (1, 2, 'ink'), (2, 1, 'pad');
        INSERT INTO item_notes VALUES (1, 1, 1, 'blue'), (1, 1, 2, 'fine'), (1, 2, 1, 'black'), (2, 1, 1, 'lined');
        -- children with lower ids than their parents, so key order is never parents first
        INSERT INTO node VALUES (100, NULL, 'root'), (200, NULL, 'other root');
        INSERT INTO node VALUES (50, 100, 'a'), (60, 100, 'b'), (20, 50, 'a.1'), (30, 50, 'a.2'), (10, 20, 'a.1.x');
        INSERT INTO teams VALUES (1, 'one'), (2, 'two');
        INSERT INTO players VALUES (1, 1, 'p1'), (2, 1, 'p2'), (3, 2, 'p3');
        INSERT INTO accounts VALUES (1, 'acme'), (2, 'globex');
        INSERT INTO members VALUES (1, 1, 'm1'), (2, 1, 'm2'), (3, 2, 'm3');
        INSERT INTO dparent VALUES (1, 'x');
        INSERT INTO dchild VALUES (1, 1, 'y');
        """;

    /// <summary>The schema, capture running, then the seed rows (so a rollback knows every row from the trail).</summary>
    private static async Task<CaptureHarness> StartAsync(PostgresFixture fixture)
    {
        var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        await h.ExecuteAsync(Seed);
        return h;
    }

    /// <summary>Copies every table to copies.{table}_{suffix} in one transaction; returns its moment.</summary>
    private static Task<DateTimeOffset> CopyAsync(CaptureHarness h, string suffix) => TableCopies.CopyAsync(h, suffix, Tables);

    private static Task AssertSameAsCopiesAsync(CaptureHarness h, string suffix) => TableCopies.AssertSameAsync(h, suffix, Tables);

    /// <summary>One request: its statements in one transaction that carries <c>{"requestId": id}</c>.</summary>
    private static Task RequestAsync(CaptureHarness h, string id, string sql) => h.ExecuteAsync(
        $$"""
        BEGIN;
        SELECT pg_logical_emit_message(true, 'hindsight', '{"requestId":"{{id}}"}');
        {{sql.TrimEnd().TrimEnd(';')}};
        COMMIT;
        """);

    private static RevertSelection Request(string id) => new() { Filter = new ChangeFilter { Context = $$"""{"requestId":"{{id}}"}""" } };

    /// <summary>Plans and applies the revert of one request; each statement changes exactly one row.</summary>
    private static async Task<RevertResult> RevertRequestAsync(CaptureHarness h, string id)
    {
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(Request(id));
        Assert.Empty(plan.Conflicts);
        var result = await reverter.ApplyAsync(plan);
        Assert.True(result.Applied);
        Assert.All(result.RowsAffected, n => Assert.Equal(1, n));
        return result;
    }

    private static string Steps(RevertPlan plan) => string.Join(", ", plan.Statements.Select(s => $"{s.Action} {s.Table.Name} {s.PrimaryKey}"));

    [Fact]
    public async Task Reverting_a_request_that_deleted_an_order_brings_back_the_order_before_its_cascaded_items()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "t0");
        await RequestAsync(h, "del", "DELETE FROM item_notes WHERE order_id = 1; DELETE FROM orders WHERE id = 1");
        await h.CatchUpAsync();

        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(Request("del"));
        Assert.Equal("INSERT orders 1", $"{plan.Statements[0].Action} {plan.Statements[0].Table.Name} {plan.Statements[0].PrimaryKey}");
        var dry = await reverter.ApplyAsync(plan, dryRun: true);
        Assert.Contains("SET CONSTRAINTS ALL DEFERRED;", dry.Sql, StringComparison.Ordinal);
        Assert.True(dry.Sql.IndexOf("INSERT INTO \"public\".\"orders\"", StringComparison.Ordinal) < dry.Sql.IndexOf("INSERT INTO \"public\".\"items\"", StringComparison.Ordinal));
        var applied = await reverter.ApplyAsync(plan);
        Assert.Equal(dry.Sql, applied.Sql); // the dry run shows exactly what is applied
        Assert.All(applied.RowsAffected, n => Assert.Equal(1, n));
        await AssertSameAsCopiesAsync(h, "t0");
    }

    [Fact]
    public async Task Three_levels_of_cascade_are_reverted_parents_first()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "t0");
        await RequestAsync(h, "del", "DELETE FROM orders WHERE id = 1");
        Assert.Equal(0, await h.ScalarAsync<long>("SELECT count(*) FROM item_notes WHERE order_id = 1"));
        var result = await RevertRequestAsync(h, "del");
        // Each row after the row it references: the order first, each item before its notes.
        var keys = result.Plan.Statements.Select(s => $"{s.Table.Name} {s.PrimaryKey}").ToList();
        Assert.True(keys[0] == "orders 1", Steps(result.Plan));
        foreach (var note in result.Plan.Statements.Where(s => s.Table.Name == "item_notes"))
            Assert.True(keys.IndexOf($"items {note.PrimaryKey[..note.PrimaryKey.LastIndexOf(',')]}]") < keys.IndexOf($"item_notes {note.PrimaryKey}"), Steps(result.Plan));
        await AssertSameAsCopiesAsync(h, "t0");

        // And the other way round: a request that built the three levels, reverted children first.
        await RequestAsync(h, "add",
            "INSERT INTO orders VALUES (3, 'carol'); INSERT INTO items VALUES (3, 1, 'cup'), (3, 2, 'mug'); INSERT INTO item_notes VALUES (3, 1, 1, 'red'), (3, 2, 1, 'big')");
        await RevertRequestAsync(h, "add");
        await AssertSameAsCopiesAsync(h, "t0");
    }

    [Fact]
    public async Task A_self_referencing_subtree_deleted_by_cascade_and_one_inserted_in_one_statement_are_reverted()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "t0");
        await RequestAsync(h, "del", "DELETE FROM node WHERE id = 50"); // 50, 20, 30, 10 go
        await CopyAsync(h, "t1");
        // One statement, children first: accepted, as the key is checked at the end of the statement.
        await RequestAsync(h, "ins", "INSERT INTO node VALUES (3, 2, 'c'), (2, 1, 'b'), (1, 200, 'a'), (4, 1, 'd')");

        var ins = await RevertRequestAsync(h, "ins");
        var deleted = ins.Plan.Statements.Select(s => s.PrimaryKey).ToList();
        Assert.True(deleted.IndexOf("3") < deleted.IndexOf("2") && deleted.IndexOf("2") < deleted.IndexOf("1") && deleted.IndexOf("4") < deleted.IndexOf("1"),
            Steps(ins.Plan));
        await AssertSameAsCopiesAsync(h, "t1");

        var del = await RevertRequestAsync(h, "del");
        var inserted = del.Plan.Statements.Select(s => s.PrimaryKey).ToList();
        Assert.True(inserted.IndexOf("50") < inserted.IndexOf("20") && inserted.IndexOf("20") < inserted.IndexOf("10"), Steps(del.Plan));
        await AssertSameAsCopiesAsync(h, "t0");
    }

    [Fact]
    public async Task A_request_that_moved_children_between_parents_is_reverted()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "t0");
        await RequestAsync(h, "move",
            """
            UPDATE players SET team_id = 2 WHERE id = 1;      -- p1 moves from team 1 to team 2
            DELETE FROM teams WHERE id = 1;                   -- p2, still on team 1, goes by the cascade
            INSERT INTO teams VALUES (3, 'three');
            UPDATE players SET team_id = 3 WHERE team_id = 2; -- p1 and p3 move to team 3
            DELETE FROM teams WHERE id = 2;
            INSERT INTO players VALUES (4, 3, 'p4');
            """);
        Assert.Equal("3,3,3", string.Join(",", (await h.RowsAsync("SELECT team_id FROM players ORDER BY id")).Select(r => r[0])));
        await RevertRequestAsync(h, "move");
        await AssertSameAsCopiesAsync(h, "t0");

        // The parent's key moves, and its children with it (ON UPDATE CASCADE): undoing the children's updates needs the
        // old key back, and the parent's update takes them along; the cascade does what the child statements then repeat.
        await RequestAsync(h, "rekey", "UPDATE teams SET id = 20 WHERE id = 2; INSERT INTO players VALUES (5, 20, 'p5')");
        Assert.Equal(2, await h.ScalarAsync<long>("SELECT count(*) FROM players WHERE team_id = 20"));
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(Request("rekey"));
        // Nothing changed these rows since the request: no conflict, and no force needed.
        Assert.Empty(plan.Conflicts);
        var result = await reverter.ApplyAsync(plan);
        Assert.All(result.RowsAffected, n => Assert.Equal(1, n));
        await AssertSameAsCopiesAsync(h, "t0");
    }

    [Fact]
    public async Task On_delete_set_null_references_are_set_back_after_the_parent_is_back()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "t0");
        await RequestAsync(h, "del", "DELETE FROM accounts WHERE id = 1");
        Assert.Equal(2, await h.ScalarAsync<long>("SELECT count(*) FROM members WHERE account_id IS NULL"));
        var result = await RevertRequestAsync(h, "del");
        Assert.Equal("INSERT accounts 1", $"{result.Plan.Statements[0].Action} {result.Plan.Statements[0].Table.Name} {result.Plan.Statements[0].PrimaryKey}");
        await AssertSameAsCopiesAsync(h, "t0");
    }

    [Fact]
    public async Task Deferrable_keys_are_deferred_so_rows_that_reference_each_other_revert()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "t0");
        // Accepted by PostgreSQL only at commit: a child before its parent, and two rows that reference each other.
        await RequestAsync(h, "deferred",
            """
            SET CONSTRAINTS ALL DEFERRED;
            INSERT INTO dchild VALUES (2, 2, 'child first');
            INSERT INTO dparent VALUES (2, 'parent later');
            UPDATE dchild SET parent_id = 2 WHERE id = 1;
            DELETE FROM dparent WHERE id = 1;
            INSERT INTO dpair VALUES (1, 2);
            INSERT INTO dpair VALUES (2, 1);
            """);
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(Request("deferred"));
        Assert.Contains("SET CONSTRAINTS ALL DEFERRED;", (await reverter.ApplyAsync(plan, dryRun: true)).Sql, StringComparison.Ordinal);
        var result = await reverter.ApplyAsync(plan);
        Assert.All(result.RowsAffected, n => Assert.Equal(1, n));
        await AssertSameAsCopiesAsync(h, "t0");
    }

    [Fact]
    public async Task Rows_that_no_order_can_revert_are_refused_at_plan_time_naming_the_constraint_and_rows()
    {
        await using var h = await StartAsync(fixture);
        // One statement inserting two rows that reference each other: accepted, as the key is checked at its end. Undoing
        // it one row at a time cannot be: either DELETE leaves the other row referencing a missing one.
        await RequestAsync(h, "pair", "INSERT INTO pair VALUES (1, 2), (2, 1)");
        await CopyAsync(h, "t1");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(Request("pair")));
        Assert.Contains("pair_other_fk", e.Message, StringComparison.Ordinal);
        Assert.Contains("public.pair key 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("public.pair key 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("NOT DEFERRABLE", e.Message, StringComparison.Ordinal);
        Assert.Contains("public.pair key 2 references public.pair key 1 through constraint \"pair_other_fk\"", e.Message, StringComparison.Ordinal);
        await AssertSameAsCopiesAsync(h, "t1");

        // The same rows through a DEFERRABLE key (dpair, above) revert: the refusal is only for what no order satisfies.
        await h.ExecuteAsync("ALTER TABLE pair ALTER CONSTRAINT pair_other_fk DEFERRABLE");
        await RevertRequestAsync(h, "pair");
        Assert.Equal(0, await h.ScalarAsync<long>("SELECT count(*) FROM pair"));
    }

    [Fact]
    public async Task Rolling_parent_child_and_self_referencing_tables_to_a_moment()
    {
        await using var h = await StartAsync(fixture);
        var at = await CopyAsync(h, "t0");
        await h.ExecuteAsync("DELETE FROM orders WHERE id = 1");                        // three levels of cascade
        await h.ExecuteAsync("INSERT INTO orders VALUES (5, 'eve'); INSERT INTO items VALUES (5, 1, 'box'); INSERT INTO item_notes VALUES (5, 1, 1, 'n')");
        await h.ExecuteAsync("DELETE FROM node WHERE id = 50");                          // a subtree by cascade
        await h.ExecuteAsync("INSERT INTO node VALUES (9, 8, 'z'), (8, 7, 'y'), (7, 200, 'x')"); // a subtree, children first
        await h.ExecuteAsync("UPDATE node SET parent_id = 9 WHERE id = 60");            // a row moved under the new subtree
        await h.ExecuteAsync("UPDATE players SET team_id = 2 WHERE id = 1; DELETE FROM teams WHERE id = 1");
        await h.CatchUpAsync();

        var reverter = new Reverter(h.Source, h.Source);
        var tables = new[] { "item_notes", "node", "items", "players", "orders", "teams" }.Select(t => new TableName(null, t)).ToArray();
        var plan = await reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget(tables, at) });
        Assert.Empty(plan.Conflicts);
        var applied = await reverter.ApplyAsync(plan);
        Assert.All(applied.RowsAffected, n => Assert.Equal(1, n));
        await AssertSameAsCopiesAsync(h, "t0");
    }

    /// <summary>
    /// Random transactions over the trees and the three levels: subtrees inserted children first in one statement (lower
    /// ids than their parents), subtrees deleted by cascade, nodes moved to other parents, orders built and deleted by
    /// cascade, accounts deleted (SET NULL) and made again.
    /// </summary>
    private static async Task WorkloadAsync(CaptureHarness h, Random rng, int transactions, Func<int> nextId)
    {
        const string someNode = "(SELECT id FROM node ORDER BY id OFFSET ($2 % greatest(1, (SELECT count(*) FROM node))) LIMIT 1)";
        for (var t = 0; t < transactions; t++)
        {
            await using var conn = await h.Source.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            for (var n = rng.Next(1, 5); n > 0; n--)
            {
                var id = nextId();
                var (sql, args) = rng.Next(8) switch
                {
                    0 or 1 => ($"INSERT INTO node SELECT $1 - 2, $1 - 1, 'c' UNION ALL SELECT $1 - 1, $1, 'b' UNION ALL SELECT $1, {someNode}, 'a'",
                        new object[] { id * 3, rng.Next(1000) }),
                    2 => ($"DELETE FROM node WHERE id = {someNode.Replace("$2", "$1", StringComparison.Ordinal)}", [rng.Next(1000)]),
                    3 => ($"""
                        UPDATE node SET parent_id = {someNode} WHERE id = {someNode.Replace("$2", "$1", StringComparison.Ordinal)}
                          AND {someNode} NOT IN (WITH RECURSIVE sub AS (SELECT id FROM node WHERE id = {someNode.Replace("$2", "$1", StringComparison.Ordinal)}
                                                 UNION SELECT c.id FROM node c JOIN sub ON c.parent_id = sub.id) SELECT id FROM sub)
                        """, [rng.Next(1000), rng.Next(1000)]),
                    4 => ("INSERT INTO orders VALUES ($1, 'o'); INSERT INTO items VALUES ($1, 1, 'x'), ($1, 2, 'y'); INSERT INTO item_notes VALUES ($1, 2, 1, 'n')",
                        [id]),
                    5 => ("DELETE FROM orders WHERE id = (SELECT id FROM orders ORDER BY id OFFSET ($1 % greatest(1, (SELECT count(*) FROM orders))) LIMIT 1)",
                        [rng.Next(1000)]),
                    6 => ("DELETE FROM accounts WHERE id = (SELECT id FROM accounts ORDER BY id OFFSET ($1 % greatest(1, (SELECT count(*) FROM accounts))) LIMIT 1)",
                        [rng.Next(1000)]),
                    _ => ("INSERT INTO accounts VALUES ($1, 'a'); UPDATE members SET account_id = $1 WHERE account_id IS NULL AND id % 2 = $1 % 2; INSERT INTO members VALUES ($1, $1, 'm')",
                        [id]),
                };
                foreach (var statement in sql.Split("; ", StringSplitOptions.RemoveEmptyEntries))
                {
                    await using var cmd = new NpgsqlCommand(statement, conn, tx);
                    foreach (var a in args) cmd.Parameters.AddWithValue(a);
                    await cmd.ExecuteNonQueryAsync();
                }
            }
            await tx.CommitAsync();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Random_trees_and_cascades_reverted_by_time_then_rolled_forward_match_the_copies(int seed)
    {
        await using var h = await StartAsync(fixture);
        var rng = new Random(seed);
        var counter = 1000;
        await WorkloadAsync(h, rng, 25, () => ++counter);
        var t1 = await CopyAsync(h, "t1");
        await WorkloadAsync(h, rng, 25, () => ++counter);
        var t2 = await CopyAsync(h, "t2");
        await h.CatchUpAsync();

        // Every change since t1, undone newest first (reordered where the keys need it).
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { Filter = new ChangeFilter { Since = t1 } });
        Assert.Empty(plan.Conflicts);
        var reverted = await reverter.ApplyAsync(plan);
        Assert.All(reverted.RowsAffected, n => Assert.Equal(1, n));
        await AssertSameAsCopiesAsync(h, "t1");

        // Forward again: the tables rolled to t2.
        await h.CatchUpAsync();
        var tables = new[] { "node", "item_notes", "items", "orders", "members", "accounts" }.Select(t => new TableName(null, t)).ToArray();
        var forward = await reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget(tables, t2) });
        Assert.Empty(forward.Conflicts);
        var applied = await reverter.ApplyAsync(forward);
        Assert.All(applied.RowsAffected, n => Assert.Equal(1, n));
        await AssertSameAsCopiesAsync(h, "t2");
    }
}
