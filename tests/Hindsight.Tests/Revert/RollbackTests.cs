using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Revert;

/// <summary>
/// Rolling tables back (and forward) to a moment, against the real server: the oracle is PostgreSQL itself — copies of
/// the tables taken with CREATE TABLE … AS SELECT in a marker transaction, compared row for row with <c>to_jsonb</c>.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class RollbackTests(PostgresFixture fixture)
{
    // No rows before tracking starts: every row is known to the trail. The foreign key is not deferrable.
    private const string Schema =
        """
        CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL, score numeric(10,2), doc jsonb, at timestamptz, tags text[]);
        CREATE TABLE children (id int PRIMARY KEY, parent_id int REFERENCES parents (id), qty int, note text);
        CREATE TABLE pairs (a int, b text, v jsonb, PRIMARY KEY (a, b));
        CREATE SCHEMA copies; -- not captured: the harness tracks schema public
        """;

    private static readonly string[] Tables = ["parents", "children", "pairs"];
    private static readonly TableName[] TableNames = Tables.Select(t => new TableName(null, t)).ToArray();

    private static async Task<CaptureHarness> StartAsync(PostgresFixture fixture, string schema = Schema)
    {
        var h = await CaptureHarness.CreateAsync(fixture, schema);
        h.StartWorker();
        return h;
    }

    /// <summary>Random transactions of inserts, updates and deletes over the three tables (keys reused, foreign keys kept).</summary>
    private static async Task WorkloadAsync(CaptureHarness h, Random rng, int transactions)
    {
        const string someParent = "(SELECT id FROM parents ORDER BY id OFFSET ($3 % greatest(1, (SELECT count(*) FROM parents))) LIMIT 1)";
        for (var t = 0; t < transactions; t++)
        {
            await using var conn = await h.Source.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            for (var n = rng.Next(1, 6); n > 0; n--)
            {
                var (sql, args) = rng.Next(9) switch
                {
                    0 or 1 => ("INSERT INTO parents VALUES ($1, $2, $3, $4::jsonb, now() - $5 * interval '1 minute', $6) ON CONFLICT (id) DO NOTHING",
                        new object[] { rng.Next(1, 30), $"p{rng.Next(100)}", Math.Round((decimal)rng.NextDouble() * 1000, 2), $"{{\"k\": {rng.Next(5)}, \"s\": \"O'x\"}}", rng.Next(1000), new[] { "a", $"t{rng.Next(3)}" } }),
                    2 => ("UPDATE parents SET score = $2, doc = coalesce(doc, '{}') || jsonb_build_object('u', $3::int), name = name || '+' WHERE id = $1",
                        [rng.Next(1, 30), Math.Round((decimal)rng.NextDouble() * 100, 2), rng.Next(100)]),
                    3 => ("DELETE FROM parents WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM children WHERE parent_id = $1)", [rng.Next(1, 30)]),
                    4 => ($"INSERT INTO children SELECT $1, {someParent}, $2, $4 ON CONFLICT (id) DO NOTHING",
                        [rng.Next(1, 40), rng.Next(100), rng.Next(50), $"note {rng.Next(10)}"]),
                    5 => ($"UPDATE children SET qty = $2, parent_id = {someParent} WHERE id = $1", [rng.Next(1, 40), rng.Next(100), rng.Next(50)]),
                    6 => ("DELETE FROM children WHERE id = $1", [rng.Next(1, 40)]),
                    7 => ("INSERT INTO pairs VALUES ($1, $2, $3::jsonb) ON CONFLICT (a, b) DO UPDATE SET v = excluded.v",
                        [rng.Next(1, 8), new[] { "x", "y", "z,\"q\"" }[rng.Next(3)], $"[{rng.Next(10)}, null, 1.50]"]),
                    _ => ("DELETE FROM pairs WHERE a = $1 AND b = $2", [rng.Next(1, 8), new[] { "x", "y", "z,\"q\"" }[rng.Next(3)]]),
                };
                await using var cmd = new NpgsqlCommand(sql, conn, tx);
                foreach (var a in args) cmd.Parameters.AddWithValue(a);
                await cmd.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
        }
    }

    /// <summary>Copies every table (or those given) into schema copies (suffixed); returns the copy's moment.</summary>
    private static Task<DateTimeOffset> MarkAsync(CaptureHarness h, string suffix, params string[] tables) =>
        TableCopies.CopyAsync(h, suffix, tables.Length == 0 ? Tables : tables);

    private static Task AssertSameAsCopiesAsync(CaptureHarness h, string suffix, params string[] tables) =>
        TableCopies.AssertSameAsync(h, suffix, tables.Length == 0 ? Tables : tables);

    private static async Task<string> StateAsync(CaptureHarness h) => string.Join("\n", await Task.WhenAll(Tables.Select(t =>
        h.ScalarAsync<string>($"SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY to_jsonb(x)), '[]')::text FROM {t} x"))));

    private static RevertSelection RollTo(DateTimeOffset at, params TableName[] tables) =>
        new() { RollbackTo = new RollbackTarget(tables.Length == 0 ? TableNames : tables, at) };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Random_workload_rolled_back_then_forward_matches_the_copies_taken_at_each_moment(int seed)
    {
        await using var h = await StartAsync(fixture);
        var rng = new Random(seed);
        await WorkloadAsync(h, rng, 40);
        var t1 = await MarkAsync(h, "t1");
        await WorkloadAsync(h, rng, 40);
        var t2 = await MarkAsync(h, "t2");
        await WorkloadAsync(h, rng, 30);
        await h.CatchUpAsync();

        var reverter = new Reverter(h.Source, h.Source);
        var back = await reverter.PlanAsync(RollTo(t1));
        Assert.Empty(back.Conflicts);
        Assert.NotEmpty(back.Statements);
        Assert.DoesNotContain(back.Notes, n => n.Contains("not in the trail", StringComparison.Ordinal));
        var applied = await reverter.ApplyAsync(back);
        Assert.All(applied.RowsAffected, n => Assert.Equal(1, n));
        await AssertSameAsCopiesAsync(h, "t1");

        // Forward: the target is the state at t2, not the inverse of the rollback.
        await h.CatchUpAsync();
        var forward = await reverter.PlanAsync(RollTo(t2));
        Assert.Empty(forward.Conflicts);
        await reverter.ApplyAsync(forward);
        await AssertSameAsCopiesAsync(h, "t2");

        // Already there: nothing to do.
        await h.CatchUpAsync();
        Assert.Empty((await reverter.PlanAsync(RollTo(t2))).Statements);
    }

    /// <summary>
    /// After the moment: a new parent, the child moved to it, the old parent deleted, a new child of the new parent. Rolling
    /// back needs the old parent inserted before the child moves back, and the new parent deleted after (non-deferrable key).
    /// </summary>
    private static async Task<DateTimeOffset> ParentChildScenarioAsync(CaptureHarness h)
    {
        await h.ExecuteAsync("INSERT INTO parents VALUES (1, 'one', 1, '{}', now(), '{a}'); INSERT INTO children VALUES (1, 1, 5, 'c1')");
        var at = await MarkAsync(h, "t", "parents", "children");
        await h.ExecuteAsync("INSERT INTO parents VALUES (2, 'two', 2, NULL, NULL, NULL)");
        await h.ExecuteAsync("UPDATE children SET parent_id = 2, qty = 6 WHERE id = 1");
        await h.ExecuteAsync("DELETE FROM parents WHERE id = 1");
        await h.ExecuteAsync("INSERT INTO children VALUES (2, 2, 1, 'c2')");
        await h.CatchUpAsync();
        return at;
    }

    [Fact]
    public async Task Parent_and_child_with_a_non_deferrable_key_roll_back_together()
    {
        await using var h = await StartAsync(fixture);
        var at = await ParentChildScenarioAsync(h);
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(RollTo(at, new TableName(null, "children"), new TableName("public", "parents")));
        Assert.Equal(["DELETE children 2", "INSERT parents 1", "UPDATE children 1", "DELETE parents 2"],
            plan.Statements.Select(s => $"{s.Action} {s.Table.Name} {s.PrimaryKey}"));
        await reverter.ApplyAsync(plan);
        await AssertSameAsCopiesAsync(h, "t", "parents", "children");
    }

    [Fact]
    public async Task A_row_changed_after_planning_is_refused_and_nothing_changes_unless_forced()
    {
        await using var h = await StartAsync(fixture);
        var at = await ParentChildScenarioAsync(h);
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(RollTo(at, new TableName(null, "parents"), new TableName(null, "children")));
        Assert.Empty(plan.Conflicts);

        await h.ExecuteAsync("UPDATE children SET note = 'later' WHERE id = 1");
        var state = await StateAsync(h);
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.ApplyAsync(plan));
        Assert.Contains("changed since the plan was made", e.Message, StringComparison.Ordinal);
        Assert.Contains("children key 1", e.Message, StringComparison.Ordinal);
        Assert.Equal(state, await StateAsync(h));

        // Forced, the row is set to its whole image at the moment, the later change included.
        var forced = await reverter.ApplyAsync(plan, force: true);
        Assert.True(forced.Applied);
        await AssertSameAsCopiesAsync(h, "t", "parents", "children");
    }

    [Fact]
    public async Task A_row_inserted_after_planning_where_the_plan_inserts_is_refused()
    {
        await using var h = await StartAsync(fixture);
        var at = await ParentChildScenarioAsync(h);
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(RollTo(at, new TableName(null, "parents"), new TableName(null, "children")));
        await h.ExecuteAsync("INSERT INTO parents VALUES (1, 'again', 0, NULL, NULL, NULL)");
        var state = await StateAsync(h);
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.ApplyAsync(plan));
        Assert.Contains("did not when the plan was made", e.Message, StringComparison.Ordinal);
        // Forced, the INSERT meets the row: PostgreSQL refuses, and the transaction rolls back whole.
        var forced = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.ApplyAsync(plan, force: true));
        Assert.Contains("nothing was changed", forced.Message, StringComparison.Ordinal);
        Assert.Equal(state, await StateAsync(h));
    }

    [Fact]
    public async Task Rows_unknown_to_the_trail_are_left_alone_and_an_unknown_state_at_the_moment_is_refused()
    {
        await using var h = await StartAsync(fixture,
            """
            CREATE TABLE legacy (id int PRIMARY KEY, v text);
            INSERT INTO legacy VALUES (1, 'a'), (2, 'b'), (3, 'c');
            CREATE TABLE wiped (id int PRIMARY KEY, v text);
            CREATE TABLE nokey (v int);
            CREATE SCHEMA copies;
            """);
        await h.ExecuteAsync("INSERT INTO legacy VALUES (10, 'x'); INSERT INTO wiped VALUES (1, 'w'); INSERT INTO nokey VALUES (1)");
        var at = await MarkAsync(h, "t", "legacy");
        await h.ExecuteAsync("UPDATE legacy SET v = 'y' WHERE id = 10; INSERT INTO legacy VALUES (11, 'new')");
        await h.ExecuteAsync("TRUNCATE wiped");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);

        // Rows 1-3 predate tracking and never changed: left as they are, and the plan says so.
        var plan = await reverter.PlanAsync(RollTo(at, new TableName(null, "legacy")));
        Assert.Equal(2, plan.Statements.Count);
        var note = Assert.Single(plan.Notes, n => n.Contains("not in the trail", StringComparison.Ordinal));
        Assert.Contains("3 row(s)", note, StringComparison.Ordinal);
        Assert.Contains("keys 1, 2, 3", note, StringComparison.Ordinal);
        await reverter.ApplyAsync(plan);
        await AssertSameAsCopiesAsync(h, "t", "legacy");

        // Row 2 is first changed after the moment: what it was then is in no stored change.
        await h.ExecuteAsync("UPDATE legacy SET v = 'changed' WHERE id = 2");
        await h.CatchUpAsync();
        var state = await h.ScalarAsync<string>("SELECT jsonb_agg(to_jsonb(l) ORDER BY id)::text FROM legacy l");
        var unknown = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(RollTo(at, new TableName(null, "legacy"))));
        Assert.Contains("is unknown", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("keys 2", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("setup --snapshot", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(state, await h.ScalarAsync<string>("SELECT jsonb_agg(to_jsonb(l) ORDER BY id)::text FROM legacy l"));

        var truncated = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(RollTo(at, new TableName(null, "wiped"))));
        Assert.Contains("TRUNCATE", truncated.Message, StringComparison.Ordinal);
        var keyless = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(RollTo(at, new TableName(null, "nokey"))));
        Assert.Contains("no primary key", keyless.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.PlanAsync(RollTo(at, new TableName(null, "nope"))));
        Assert.Contains("no such table", missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget([], at) }));
        await Assert.ThrowsAsync<ArgumentException>(() => reverter.PlanAsync(new RevertSelection { ChangeId = 1, RollbackTo = new RollbackTarget(TableNames, at) }));
    }

    [Fact]
    public async Task With_a_baseline_rows_from_before_tracking_and_a_truncate_roll_back_too()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture,
            """
            CREATE TABLE legacy (id int PRIMARY KEY, v text);
            INSERT INTO legacy VALUES (1, 'a'), (2, 'b'), (3, 'c');
            CREATE SCHEMA copies;
            """);
        var setup = await h.SetupAsync(o => new SetupOptions
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas, Snapshot = true,
        });
        Assert.Equal(3, setup.Baseline!.Rows);
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO legacy VALUES (10, 'x')");
        var at = await MarkAsync(h, "t", "legacy");
        // After the moment: rows from before tracking change and go, and a TRUNCATE empties the table.
        await h.ExecuteAsync("UPDATE legacy SET v = 'changed' WHERE id = 2; DELETE FROM legacy WHERE id = 3");
        await h.ExecuteAsync("TRUNCATE legacy; INSERT INTO legacy VALUES (20, 'after the truncate')");
        await h.CatchUpAsync();

        // The baseline makes the state at the moment known for every row: no refusal, no row left alone.
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(RollTo(at, new TableName(null, "legacy")));
        Assert.DoesNotContain(plan.Notes, n => n.Contains("not in the trail", StringComparison.Ordinal));
        Assert.Empty(plan.Conflicts);
        await reverter.ApplyAsync(plan);
        await AssertSameAsCopiesAsync(h, "t", "legacy");
    }

    [Fact]
    public async Task A_quoted_table_name_identity_always_and_generated_columns_roll_back_safely()
    {
        await using var h = await StartAsync(fixture,
            """
            CREATE TABLE "we""ird; 'x" (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "co""l" text, at timestamptz,
                                       twice int GENERATED ALWAYS AS (id * 2) STORED);
            CREATE SCHEMA copies;
            """);
        await h.ExecuteAsync("INSERT INTO \"we\"\"ird; 'x\" (\"co\"\"l\", at) VALUES ('x''); DROP TABLE copies.w_t; --', '2025-01-31 12:00:00.123456+02'), ('b', NULL)");
        var at = await TableCopies.CopyAsync(h, "t", ("\"we\"\"ird; 'x\"", "w"));
        await h.ExecuteAsync("DELETE FROM \"we\"\"ird; 'x\" WHERE id = 1; UPDATE \"we\"\"ird; 'x\" SET \"co\"\"l\" = 'c', at = now() WHERE id = 2");
        await h.ExecuteAsync("INSERT INTO \"we\"\"ird; 'x\" (\"co\"\"l\") VALUES ('new')");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(RollTo(at, new TableName(null, "we\"ird; 'x")));
        Assert.Contains(plan.Statements, s => s.Sql.Contains("OVERRIDING SYSTEM VALUE", StringComparison.Ordinal));
        Assert.DoesNotContain(plan.Statements, s => s.Sql.Contains("twice", StringComparison.Ordinal)); // generated: never written
        await reverter.ApplyAsync(plan);
        Assert.Equal("", await h.ScalarAsync<string>(
            "SELECT coalesce(string_agg(j::text, ','), '') FROM ((SELECT to_jsonb(x) j FROM \"we\"\"ird; 'x\" x EXCEPT SELECT to_jsonb(y) FROM copies.w_t y) " +
            "UNION ALL (SELECT to_jsonb(y) FROM copies.w_t y EXCEPT SELECT to_jsonb(x) FROM \"we\"\"ird; 'x\" x)) d"));
    }

    [Fact]
    public async Task Dry_run_prints_the_sql_and_changes_nothing_and_the_rollback_is_captured_with_its_context()
    {
        await using var h = await StartAsync(fixture);
        var at = await ParentChildScenarioAsync(h);
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(RollTo(at, new TableName(null, "parents"), new TableName(null, "children")));
        var state = await StateAsync(h);
        var stored = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");

        var dry = await reverter.ApplyAsync(plan, dryRun: true);
        Assert.False(dry.Applied);
        Assert.Contains("SET CONSTRAINTS ALL DEFERRED", dry.Sql, StringComparison.Ordinal);
        Assert.Contains("DELETE FROM \"public\".\"parents\"", dry.Sql, StringComparison.Ordinal);
        Assert.Contains("INSERT INTO \"public\".\"parents\"", dry.Sql, StringComparison.Ordinal);
        Assert.Contains("UPDATE \"public\".\"children\"", dry.Sql, StringComparison.Ordinal);
        Assert.Contains("\"rollbackTo\"", dry.Sql, StringComparison.Ordinal);
        await h.CatchUpAsync();
        Assert.Equal(state, await StateAsync(h));
        Assert.Equal(stored, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));

        await reverter.ApplyAsync(plan, new JsonObject { ["requestedBy"] = "alice" });
        await h.CatchUpAsync();
        var context = new JsonObject
        {
            ["requestedBy"] = "alice",
            ["hindsight"] = new JsonObject
            {
                ["revertOf"] = new JsonObject
                {
                    ["rollbackTo"] = at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
                    ["tables"] = new JsonArray("public.parents", "public.children"),
                },
            },
        };
        Assert.Equal(plan.Statements.Count, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE context @> $1::jsonb", context.ToJsonString()));
        Assert.Equal(plan.Statements.Count, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE id > (SELECT max(id) - $1 FROM hindsight.changes) AND context @> '{\"requestedBy\":\"alice\"}'", (long)plan.Statements.Count));
    }

    [Fact]
    public async Task A_source_change_the_store_has_not_caught_up_with_is_a_conflict()
    {
        await using var h = await StartAsync(fixture);
        var at = await ParentChildScenarioAsync(h);
        await h.StopWorkerAsync();
        await h.ExecuteAsync("UPDATE children SET qty = 42 WHERE id = 2");
        var plan = await new Reverter(h.Source, h.Source).PlanAsync(RollTo(at, new TableName(null, "parents"), new TableName(null, "children")));
        var conflict = Assert.Single(plan.Conflicts);
        Assert.Equal("2", conflict.PrimaryKey);
        Assert.Contains("catch up", conflict.Reason, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AuditQueryException>(() => new Reverter(h.Source, h.Source).ApplyAsync(plan));
    }

    [Fact]
    public async Task Cli_revert_to_a_moment_dry_run_csv_json_and_bad_input()
    {
        await using var h = await StartAsync(fixture);
        var at = await ParentChildScenarioAsync(h);
        var src = h.ConnectionString;
        var when = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => CliRun.RunAsync(args);
        var state = await StateAsync(h);

        var dry = await RunAsync("revert", "--source", src, "--table", "parents", "--table", "children", "--to", when, "--dry-run");
        Assert.True(dry.Code == 0, dry.Err);
        Assert.Contains("plan: 4 statement(s) rolling parents, children to", dry.Out, StringComparison.Ordinal);
        Assert.Contains("INSERT public.parents key 1", dry.Out, StringComparison.Ordinal);
        Assert.Contains("dry run: nothing was changed", dry.Out, StringComparison.Ordinal);
        Assert.Contains("DELETE FROM \"public\".\"children\"", dry.Out, StringComparison.Ordinal);

        var csv = await RunAsync("revert", "--source", src, "--table", "parents,children", "--to", when, "--dry-run", "--format", "csv");
        Assert.True(csv.Code == 0, csv.Err);
        var lines = csv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("kind,table,primary_key,action,change,later_change,sql,parameters,reason", lines[0]);
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("statement,public.children,2,DELETE,,,\"DELETE FROM \"\"public\"\".\"\"children\"\"", lines[1], StringComparison.Ordinal); // RFC 4180 quoting
        Assert.Contains("dry run: nothing was changed", csv.Err, StringComparison.Ordinal);
        Assert.Equal(state, await StateAsync(h));

        foreach (var bad in new[]
                 {
                     new[] { "revert", "--source", src, "--to", when },
                     ["revert", "--source", src, "--table", "parents", "--to", when, "--change", "1"],
                     ["revert", "--source", src, "--table", "parents", "--to", when, "--context", "{\"a\":1}"],
                     ["revert", "--source", src, "--table", "parents", "--to", "yesterday"],
                     ["revert", "--source", src, "--table", "nokey_here", "--to", when],
                 })
        {
            var r = await RunAsync(bad);
            Assert.True(r.Code == 1, $"{string.Join(' ', bad)}: exit {r.Code}, {r.Err}");
            Assert.Equal("", r.Out);
            var errLines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(errLines.Length == 1, $"{string.Join(' ', bad)}: {r.Err}");
            Assert.StartsWith("hindsight: error: ", errLines[0], StringComparison.Ordinal);
        }
        Assert.Contains("--to needs the tables", (await RunAsync("revert", "--source", src, "--to", when)).Err, StringComparison.Ordinal);
        Assert.Contains("--to: 'yesterday' is not an ISO 8601 time",
            (await RunAsync("revert", "--source", src, "--table", "parents", "--to", "yesterday")).Err, StringComparison.Ordinal);
        Assert.Equal(state, await StateAsync(h));

        var applied = await RunAsync("revert", "--source", src, "--table", "parents", "--table", "children", "--to", when, "--format", "json",
            "--with-context", "{\"requestedBy\":\"cli\"}");
        Assert.True(applied.Code == 0, applied.Err);
        using var doc = JsonDocument.Parse(applied.Out);
        Assert.True(doc.RootElement.GetProperty("applied").GetBoolean());
        var first = doc.RootElement.GetProperty("statements")[0];
        Assert.Equal("DELETE", first.GetProperty("action").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("change").ValueKind);
        await AssertSameAsCopiesAsync(h, "t", "parents", "children");
    }
}
