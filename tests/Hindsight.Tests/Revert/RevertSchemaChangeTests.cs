using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Revert;

/// <summary>
/// A revert across a schema change it cannot honour is refused before anything is written, with a message that names
/// the change; one across a compatible change (a column added since) goes through. The table is compared with a real
/// copy taken before, in PostgreSQL.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class RevertSchemaChangeTests(PostgresFixture fixture)
{
    private const string Schema =
        """
        CREATE SCHEMA copies;
        CREATE TABLE person (id int PRIMARY KEY, email text, age int, code text);
        """;

    private static async Task<(CaptureHarness H, long Xid)> UpdatedAsync(PostgresFixture fixture)
    {
        var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO person VALUES (1, 'a@x', 30, 'abc'), (2, 'b@x', 40, '7')");
        await h.ExecuteAsync("UPDATE person SET email = email || '.bad', age = age + 1, code = code || 'x'");
        await h.CatchUpAsync();
        var xid = await h.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE operation = 'UPDATE' LIMIT 1");
        return (h, xid);
    }

    private static Task<RevertPlan> PlanAsync(CaptureHarness h, long xid) =>
        new Reverter(h.Source, h.Source).PlanAsync(new RevertSelection { TransactionId = xid });

    [Theory]
    [InlineData("ALTER TABLE person RENAME COLUMN email TO contact_email", "column email renamed to contact_email")]
    [InlineData("ALTER TABLE person DROP COLUMN age", "column age dropped")]
    [InlineData("ALTER TABLE person RENAME TO people", "table renamed from public.person to public.people")]
    public async Task A_revert_across_a_rename_or_drop_is_refused_and_names_the_change(string ddl, string effect)
    {
        var (h, xid) = await UpdatedAsync(fixture);
        await using var _ = h;
        await h.ExecuteAsync($"BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{{\"migration\":\"20261203_Schema\"}}'); {ddl}; COMMIT;");
        await h.CatchUpAsync();
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => PlanAsync(h, xid));
        Assert.Contains(effect, e.Message);
        Assert.Contains("20261203_Schema", e.Message);
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task A_revert_across_a_type_its_values_no_longer_cast_to_is_refused()
    {
        var (h, xid) = await UpdatedAsync(fixture);
        await using var _ = h;
        // 'abc' cannot become an integer: the rows now hold NULL and 7x is gone; the old values do not cast.
        await h.ExecuteAsync("ALTER TABLE person ALTER COLUMN code TYPE int USING (CASE WHEN code ~ '^[0-9]+$' THEN code::int END)");
        await h.CatchUpAsync();
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => PlanAsync(h, xid));
        Assert.Contains("column code type changed from text to integer", e.Message);
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task A_revert_across_an_added_column_goes_through()
    {
        var (h, xid) = await UpdatedAsync(fixture);
        await using var _ = h;
        await h.ExecuteAsync("ALTER TABLE person ADD COLUMN nick text DEFAULT 'n'");
        await h.ExecuteAsync("CREATE TABLE copies.person_expected AS SELECT id, replace(email, '.bad', '') AS email, age - 1 AS age, left(code, -1) AS code, nick FROM person");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { TransactionId = xid });
        await reverter.ApplyAsync(plan);
        Assert.Equal("", await TableCopies.DifferenceAsync(h, "person", "expected"));
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task A_rollback_across_a_rename_is_refused_and_one_across_an_added_column_goes_through()
    {
        var (h, _) = await UpdatedAsync(fixture);
        await using var _h = h;
        var then = await TableCopies.CopyAsync(h, "then", ("person", "person"));
        await h.ExecuteAsync("UPDATE person SET age = 99");
        await h.ExecuteAsync("ALTER TABLE person ADD COLUMN nick text DEFAULT 'n'");
        await h.CatchUpAsync();
        var reverter = new Reverter(h.Source, h.Source);
        var table = new Hindsight.Model.TableName("public", "person");

        // Across an added column: the rows are made as they were; the new column keeps what it holds.
        var plan = await reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget([table], then) });
        await reverter.ApplyAsync(plan);
        Assert.Equal("", await h.ScalarAsync<string>(
            "SELECT coalesce(string_agg(id::text, ','), '') FROM (SELECT id, email, age, code FROM person EXCEPT SELECT * FROM copies.person_then) x"));
        Assert.Equal(2L, await h.ScalarAsync<long>("SELECT count(*) FROM person WHERE nick = 'n'"));
        await h.CatchUpAsync();

        // Across a rename: refused, naming it, and nothing changes.
        await h.ExecuteAsync("ALTER TABLE person RENAME COLUMN email TO contact_email");
        await h.CatchUpAsync();
        var e = await Assert.ThrowsAsync<AuditQueryException>(() =>
            reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget([table], then) }));
        Assert.Contains("column email renamed to contact_email", e.Message);
        await h.StopWorkerAsync();
    }
}
