using System.Data;
using Hindsight.Cli;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Tests.Server.Api;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Revert;

/// <summary>
/// Revert, rollback and the API's revert of tables whose worker redacts or ignores columns, or stored a TOAST placeholder:
/// a value the trail does not hold is never written back, never compared. The oracle is PostgreSQL: copies of the tables
/// taken in a schema that is not captured, compared with <c>to_jsonb</c>; the secret columns must keep their real values.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class RevertRedactionTests(PostgresFixture fixture)
{
    // person: ssn (text) and salary (numeric: a digest is not even a number) are redacted, note is ignored.
    // account: pin is redacted and NOT NULL without a default; badge: code is ignored and NOT NULL without a default.
    private const string Schema =
        """
        CREATE TABLE person (id int PRIMARY KEY, name text NOT NULL, ssn text, note text, salary numeric(10,2), born date);
        CREATE TABLE account (id int PRIMARY KEY, owner text, pin text NOT NULL);
        CREATE TABLE badge (id int PRIMARY KEY, code text NOT NULL, label text);
        CREATE TABLE contact (id int PRIMARY KEY, name text, ssn text, note text);
        CREATE SCHEMA copies; -- not captured: the harness tracks schema public
        """;

    private static readonly string[] Redact = ["person.ssn", "person.salary", "account.pin", "contact.ssn"];
    private static readonly string[] Ignore = ["person.note", "badge.code", "contact.note"];

    /// <summary>The untracked columns of person: the rest must be restored, these must keep their values.</summary>
    private const string Untracked = "jsonb_build_object('ssn', a.ssn, 'note', a.note, 'salary', a.salary)";

    private const string Seed =
        """
        INSERT INTO person VALUES (1, 'Ann', '111-11-1111', 'vip', 5000.50, '1980-02-29'), (2, 'Bob', '222-22-2222', NULL, 12.00, NULL),
                                  (3, 'Cy', '333-33-3333', 'n3', NULL, '2001-01-01');
        INSERT INTO account VALUES (1, 'Ann', '1234'), (2, 'Bob', '9876');
        INSERT INTO badge VALUES (1, 'secret-code', 'front door');
        """;

    /// <summary>The bad request: one transaction that updates name, ssn, note and salary of two rows.</summary>
    private const string BadRequest =
        """
        BEGIN;
        SELECT pg_logical_emit_message(true, 'hindsight', '{"requestId":"bad"}');
        UPDATE person SET name = name || ' (oops)', ssn = 'X' || id, note = 'changed', salary = salary + 1, born = born + 1 WHERE id IN (1, 2);
        COMMIT;
        """;

    private static readonly RevertSelection Bad = new() { Filter = new ChangeFilter { Context = """{"requestId":"bad"}""" } };

    private static Hindsight.Worker.CaptureOptions Rules(CaptureHarness h) => h.Options(o => new()
    {
        SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication,
        RedactColumns = Redact, IgnoreColumns = Ignore,
    });

    private static async Task<CaptureHarness> StartAsync(PostgresFixture fixture)
    {
        var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker(Rules(h));
        await h.ExecuteAsync(Seed);
        await h.CatchUpAsync();
        return h;
    }

    /// <summary>Copies <paramref name="table"/> to copies.{table}_{suffix} in one transaction; returns that transaction's moment.</summary>
    private static async Task<DateTimeOffset> CopyAsync(CaptureHarness h, string table, string suffix)
    {
        await using var conn = await h.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        DateTime at;
        await using (var cmd = new NpgsqlCommand("SELECT now()", conn, tx)) at = (DateTime)(await cmd.ExecuteScalarAsync())!;
        await using (var cmd = new NpgsqlCommand($"CREATE TABLE copies.{table}_{suffix} AS SELECT * FROM {table}", conn, tx))
            await cmd.ExecuteNonQueryAsync();
        await tx.CommitAsync();
        return new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc));
    }

    /// <summary>
    /// Where <paramref name="table"/> differs from <paramref name="expected"/> (a query of <c>id</c> and the expected
    /// <c>to_jsonb</c> image <c>row</c>), both ways; empty when equal row for row.
    /// </summary>
    private static async Task<string> DifferenceAsync(CaptureHarness h, string table, string expected)
    {
        var rows = await h.RowsAsync($"""
            (SELECT 'only now: ' || to_jsonb(x)::text FROM {table} x EXCEPT ALL SELECT 'only now: ' || e.row::text FROM ({expected}) e)
            UNION ALL
            (SELECT 'expected: ' || e.row::text FROM ({expected}) e EXCEPT ALL SELECT 'expected: ' || to_jsonb(x)::text FROM {table} x)
            """);
        return string.Join("\n", rows.Select(r => r[0]));
    }

    private static async Task AssertTableIsAsync(CaptureHarness h, string table, string expected)
    {
        var diff = await DifferenceAsync(h, table, expected);
        Assert.True(diff.Length == 0, $"{table} is not as expected:\n{diff}");
        Assert.Equal(0L, await h.ScalarAsync<long>($"SELECT count(*) FROM {table} x WHERE to_jsonb(x)::text ~ 'redacted:|unchanged-toast'"));
    }

    private static Task<string> StateAsync(CaptureHarness h, string table) =>
        h.ScalarAsync<string>($"SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id), '[]')::text FROM {table} x");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Undoing_an_update_restores_the_tracked_columns_and_leaves_redacted_and_ignored_ones(bool force)
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "person", "before");
        await h.ExecuteAsync(BadRequest);
        await h.CatchUpAsync();
        await CopyAsync(h, "person", "after");
        Assert.Equal(2L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE after->>'ssn' ~ '^redacted:[0-9a-f]{16}$'" +
                                                   " AND context @> '{\"requestId\":\"bad\"}'"));

        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(Bad);
        Assert.Empty(plan.Conflicts); // the digests are not compared with the source
        Assert.Equal(2, plan.Statements.Count);
        Assert.All(plan.Statements, s => Assert.DoesNotContain("\"ssn\" =", s.Sql, StringComparison.Ordinal));
        Assert.All(plan.Statements, s => Assert.DoesNotContain("redacted:", string.Join(" ", s.Parameters), StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.Contains("public.person: column ssn is redacted", StringComparison.Ordinal) && n.Contains("left as it is", StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.Contains("public.person: column salary is redacted", StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.Contains("public.person: column note is missing from the trail", StringComparison.Ordinal));

        var result = await reverter.ApplyAsync(plan, force: force);
        Assert.All(result.RowsAffected, n => Assert.Equal(1, n));
        // Tracked columns as before the request; the secrets (and the ignored note) as the request left them.
        await AssertTableIsAsync(h, "person",
            $"SELECT b.id, to_jsonb(b) || {Untracked} AS row FROM copies.person_before b JOIN copies.person_after a USING (id)");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_request_that_changed_text_secrets_is_reverted_without_a_false_conflict_and_never_writes_a_digest(bool force)
    {
        await using var h = await StartAsync(fixture);
        await h.ExecuteAsync("INSERT INTO contact VALUES (1, 'Ann', '111-11-1111', 'a'), (2, 'Bob', '222-22-2222', 'b')");
        await h.CatchUpAsync();
        await CopyAsync(h, "contact", "before");
        await h.ExecuteAsync(
            """
            BEGIN;
            SELECT pg_logical_emit_message(true, 'hindsight', '{"requestId":"bad"}');
            UPDATE contact SET name = name || '!', ssn = '999-' || id, note = 'x' WHERE id IN (1, 2);
            COMMIT;
            """);
        await h.CatchUpAsync();
        await CopyAsync(h, "contact", "after");
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(Bad);
        Assert.Empty(plan.Conflicts);
        await reverter.ApplyAsync(plan, force: force);
        await AssertTableIsAsync(h, "contact",
            "SELECT b.id, to_jsonb(b) || jsonb_build_object('ssn', a.ssn, 'note', a.note) AS row FROM copies.contact_before b JOIN copies.contact_after a USING (id)");
    }

    [Fact]
    public async Task The_cli_reverts_the_request_without_force()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "person", "before");
        await h.ExecuteAsync(BadRequest);
        await h.CatchUpAsync();
        await CopyAsync(h, "person", "after");
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await HindsightCli.RunAsync(["revert", "--source", h.ConnectionString, "--context", """{"requestId":"bad"}"""],
            CliEnvironment.Captured(output, error));
        Assert.True(code == 0, output + "\n" + error);
        Assert.Contains("ssn is redacted", output + "\n" + error, StringComparison.Ordinal);
        await AssertTableIsAsync(h, "person",
            $"SELECT b.id, to_jsonb(b) || {Untracked} AS row FROM copies.person_before b JOIN copies.person_after a USING (id)");
    }

    [Fact]
    public async Task Undoing_a_delete_brings_the_row_back_with_null_in_nullable_secrets_and_says_so()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "person", "before");
        await h.ExecuteAsync("DELETE FROM person WHERE id IN (1, 3)");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { Filter = new ChangeFilter { Tables = [new TableName(null, "person")], Operations = [Hindsight.Model.Operation.Delete] } });
        Assert.Empty(plan.Conflicts);
        Assert.Equal(["INSERT", "INSERT"], plan.Statements.Select(s => s.Action));
        Assert.Contains(plan.Notes, n => n.Contains("public.person: column ssn is redacted", StringComparison.Ordinal) && n.Contains("NULL", StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.Contains("public.person: column note is missing from the trail", StringComparison.Ordinal) && n.Contains("NULL", StringComparison.Ordinal));
        await reverter.ApplyAsync(plan);
        await AssertTableIsAsync(h, "person",
            """SELECT b.id, to_jsonb(b) || CASE WHEN b.id = 2 THEN '{}' ELSE '{"ssn": null, "note": null, "salary": null}' END::jsonb AS row FROM copies.person_before b""");
    }

    [Fact]
    public async Task Undoing_a_delete_is_refused_naming_a_not_null_secret_without_default()
    {
        await using var h = await StartAsync(fixture);
        await h.ExecuteAsync("DELETE FROM account WHERE id = 1; DELETE FROM badge WHERE id = 1");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var state = await StateAsync(h, "account");
        var e = await Assert.ThrowsAsync<AuditQueryException>(() =>
            reverter.PlanAsync(new RevertSelection { Filter = new ChangeFilter { Tables = [new TableName(null, "account")] } }));
        Assert.Contains("column pin of public.account", e.Message, StringComparison.Ordinal);
        Assert.Contains("redacted", e.Message, StringComparison.Ordinal);
        Assert.Contains("NOT NULL", e.Message, StringComparison.Ordinal);
        var ignored = await Assert.ThrowsAsync<AuditQueryException>(() =>
            reverter.PlanAsync(new RevertSelection { Filter = new ChangeFilter { Tables = [new TableName(null, "badge")] } }));
        Assert.Contains("column code of public.badge", ignored.Message, StringComparison.Ordinal);
        Assert.Equal(state, await StateAsync(h, "account"));

        // A rollback that would re-insert it is refused the same way.
        await h.ExecuteAsync("INSERT INTO account VALUES (3, 'Cy', '5555')");
        await h.CatchUpAsync();
        var first = await h.ScalarAsync<DateTime>("SELECT min(committed_at) FROM hindsight.changes WHERE \"table\" = 'account' AND operation = 'DELETE'");
        var at = new DateTimeOffset(DateTime.SpecifyKind(first, DateTimeKind.Utc)).AddTicks(-10);
        var rollback = await Assert.ThrowsAsync<AuditQueryException>(() =>
            reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget([new TableName(null, "account")], at) }));
        Assert.Contains("column pin of public.account", rollback.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await h.ScalarAsync<long>("SELECT count(*) FROM account WHERE id = 3"));
    }

    [Fact]
    public async Task Undoing_an_insert_deletes_the_row()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "person", "before");
        await h.ExecuteAsync("INSERT INTO person VALUES (4, 'Di', '444-44-4444', 'new', 1.5, NULL)");
        await h.CatchUpAsync();
        var id = await h.ScalarAsync<long>("SELECT id FROM hindsight.changes WHERE operation = 'CREATE' AND \"table\" = 'person' AND primary_key = '4'");
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { ChangeId = id });
        Assert.Empty(plan.Conflicts);
        Assert.Equal("DELETE", Assert.Single(plan.Statements).Action);
        await reverter.ApplyAsync(plan);
        await AssertTableIsAsync(h, "person", "SELECT b.id, to_jsonb(b) AS row FROM copies.person_before b");
    }

    [Fact]
    public async Task A_conflict_in_a_tracked_column_is_still_found_and_force_never_writes_a_digest()
    {
        await using var h = await StartAsync(fixture);
        await CopyAsync(h, "person", "before");
        await h.ExecuteAsync(BadRequest);
        await h.CatchUpAsync();
        await h.StopWorkerAsync();
        // Changed since and not in the store: a real conflict, in a tracked column.
        await h.ExecuteAsync("UPDATE person SET born = '1999-09-09' WHERE id = 1");
        await CopyAsync(h, "person", "after");
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(Bad);
        var conflict = Assert.Single(plan.Conflicts);
        Assert.Equal("1", conflict.PrimaryKey);
        Assert.Contains("catch up", conflict.Reason, StringComparison.Ordinal);
        var state = await StateAsync(h, "person");
        await Assert.ThrowsAsync<AuditQueryException>(() => reverter.ApplyAsync(plan));
        Assert.Equal(state, await StateAsync(h, "person"));

        await reverter.ApplyAsync(plan, force: true);
        await AssertTableIsAsync(h, "person",
            $"SELECT b.id, to_jsonb(b) || {Untracked} AS row FROM copies.person_before b JOIN copies.person_after a USING (id)");

        // A change made between planning and applying, in a tracked column, is refused too.
        h.StartWorker(Rules(h));
        await h.ExecuteAsync("UPDATE person SET name = 'Eve', ssn = '555-55-5555' WHERE id = 3");
        await h.CatchUpAsync();
        var id = await h.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes WHERE \"table\" = 'person' AND primary_key = '3'");
        var later = await reverter.PlanAsync(new RevertSelection { ChangeId = id });
        Assert.Empty(later.Conflicts);
        await h.ExecuteAsync("UPDATE person SET name = 'Fay' WHERE id = 3");
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => reverter.ApplyAsync(later));
        Assert.Contains("changed since the plan was made", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rolling_back_to_a_moment_restores_the_tracked_columns_and_leaves_the_secrets(bool force)
    {
        await using var h = await StartAsync(fixture);
        var t1 = await CopyAsync(h, "person", "t1");
        await h.ExecuteAsync(BadRequest);
        await h.ExecuteAsync("DELETE FROM person WHERE id = 3");
        await h.ExecuteAsync("INSERT INTO person VALUES (4, 'Di', '444-44-4444', 'new', 1.5, NULL)");
        await h.CatchUpAsync();
        await CopyAsync(h, "person", "now");

        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget([new TableName(null, "person")], t1) });
        Assert.Empty(plan.Conflicts);
        Assert.Equal(["DELETE 4", "INSERT 3", "UPDATE 1", "UPDATE 2"], plan.Statements.Select(s => $"{s.Action} {s.PrimaryKey}").Order());
        Assert.All(plan.Statements, s => Assert.DoesNotContain("\"ssn\" =", s.Sql, StringComparison.Ordinal));
        Assert.All(plan.Statements.Where(s => s.Action == "INSERT"), s => Assert.DoesNotContain("\"ssn\"", s.Sql, StringComparison.Ordinal));
        Assert.All(plan.Statements, s => Assert.DoesNotContain("redacted:", string.Join(" ", s.Parameters), StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.Contains("public.person: column ssn is redacted", StringComparison.Ordinal) && n.Contains("left as it is", StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.Contains("public.person: column ssn is redacted", StringComparison.Ordinal) && n.Contains("NULL", StringComparison.Ordinal));

        await reverter.ApplyAsync(plan, force: force);
        // Rows of then, with the untracked columns as they are now (NULL for the row that comes back).
        await AssertTableIsAsync(h, "person",
            $"SELECT b.id, to_jsonb(b) || {Untracked} AS row FROM copies.person_t1 b LEFT JOIN copies.person_now a USING (id)");

        // A change of a secret alone after the moment: nothing the rollback could set back, so no statement for it.
        await h.ExecuteAsync("UPDATE person SET ssn = 'changed', salary = 1 WHERE id = 2");
        await h.CatchUpAsync();
        var again = await reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget([new TableName(null, "person")], t1) });
        Assert.Empty(again.Conflicts);
        Assert.Empty(again.Statements);
    }

    [Fact]
    public async Task The_api_reverts_without_force_and_refuses_a_not_null_secret_even_forced()
    {
        await using var s = await ApiServer.StartAsync(fixture, schema: Schema);
        await s.Harness.StopWorkerAsync();
        s.Harness.StartWorker(Rules(s.Harness));
        var h = s.Harness;
        await h.ExecuteAsync(Seed);
        await h.CatchUpAsync();
        await CopyAsync(h, "person", "before");
        await h.ExecuteAsync(BadRequest);
        await h.CatchUpAsync();
        await CopyAsync(h, "person", "after");

        var (planned, plan) = await s.PostAsync("/api/revert/plan", """{"filter": {"context": {"requestId": "bad"}}}""", s.ReadKey);
        Assert.Equal(200, planned);
        Assert.Empty(plan!["conflicts"]!.AsArray());
        Assert.Contains(plan["notes"]!.AsArray(), n => ((string)n!).Contains("column ssn is redacted", StringComparison.Ordinal));
        Assert.DoesNotContain("redacted:", (string)plan["sql"]!, StringComparison.Ordinal);

        var (status, result) = await s.PostAsync("/api/revert", """{"filter": {"context": {"requestId": "bad"}}}""", s.AdminKey);
        Assert.Equal(200, status);
        Assert.True((bool)result!["applied"]!);
        await AssertTableIsAsync(h, "person",
            $"SELECT b.id, to_jsonb(b) || {Untracked} AS row FROM copies.person_before b JOIN copies.person_after a USING (id)");

        await h.ExecuteAsync("DELETE FROM account WHERE id = 2");
        await h.CatchUpAsync();
        var state = await StateAsync(h, "account");
        var (refused, problem) = await s.PostAsync("/api/revert", """{"filter": {"tables": ["account"], "operations": ["DELETE"]}, "force": true}""", s.AdminKey);
        Assert.Equal(400, refused);
        Assert.Contains("column pin of public.account", (string)problem!["detail"]!, StringComparison.Ordinal);
        Assert.Equal(state, await StateAsync(h, "account"));
    }

    [Fact]
    public async Task A_toast_placeholder_is_never_written_back()
    {
        // The body is there before tracking and never changes: no image ever holds it (REPLICA IDENTITY DEFAULT sends no
        // old row), so the stored images hold the placeholder. A random body does not compress, so it is stored out of line.
        await using var h = await CaptureHarness.CreateAsync(fixture,
            """
            CREATE TABLE docs (id int PRIMARY KEY, title text, body text);
            INSERT INTO docs SELECT 1, 't1', string_agg(md5(random()::text), '') FROM generate_series(1, 400);
            CREATE SCHEMA copies;
            """, replicaIdentityFull: false);
        h.StartWorker();
        await h.ExecuteAsync("UPDATE docs SET title = 't2' WHERE id = 1");
        var t2 = await CopyAsync(h, "docs", "t2");
        await h.ExecuteAsync("UPDATE docs SET title = 't3' WHERE id = 1");
        await h.CatchUpAsync();
        Assert.Equal(2L, await h.ScalarAsync<long>(
            $"SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'docs' AND after->'body' = '{{\"hindsight\":\"unchanged-toast-value-unknown\"}}'::jsonb"));

        var reverter = new Reverter(h.Source, h.Source);
        var last = await h.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes WHERE \"table\" = 'docs'");
        var undo = await reverter.PlanAsync(new RevertSelection { ChangeId = last });
        Assert.Empty(undo.Conflicts); // the placeholder is not compared with the body
        await reverter.ApplyAsync(undo);
        await AssertTableIsAsync(h, "docs", "SELECT c.id, to_jsonb(c) AS row FROM copies.docs_t2 c");

        await h.ExecuteAsync("UPDATE docs SET title = 't4' WHERE id = 1");
        await h.CatchUpAsync();
        var rollback = await reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget([new TableName(null, "docs")], t2) });
        Assert.Empty(rollback.Conflicts);
        Assert.Contains(rollback.Notes, n => n.Contains("column body is an unchanged TOAST value", StringComparison.Ordinal));
        await reverter.ApplyAsync(rollback);
        await AssertTableIsAsync(h, "docs", "SELECT c.id, to_jsonb(c) AS row FROM copies.docs_t2 c");

        // Deleted: the row comes back, the body it never held as NULL.
        await h.ExecuteAsync("DELETE FROM docs WHERE id = 1");
        await h.CatchUpAsync();
        var deleted = await h.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes WHERE \"table\" = 'docs' AND operation = 'DELETE'");
        var reinsert = await reverter.PlanAsync(new RevertSelection { ChangeId = deleted });
        Assert.Contains(reinsert.Notes, n => n.Contains("column body is an unchanged TOAST value", StringComparison.Ordinal) && n.Contains("NULL", StringComparison.Ordinal));
        await reverter.ApplyAsync(reinsert);
        await AssertTableIsAsync(h, "docs", """SELECT c.id, to_jsonb(c) || '{"body": null}' AS row FROM copies.docs_t2 c""");
    }
}
