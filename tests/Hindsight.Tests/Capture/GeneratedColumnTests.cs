using System.Text.Json.Nodes;
using Hindsight.Cli;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Status;
using Hindsight.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Capture;

/// <summary>
/// Stored generated columns: before PostgreSQL 18 pgoutput does not send them, so the images are <c>to_jsonb()</c> of the
/// row without them (and setup, status and as-of say so); from 18 setup publishes them and the images are complete.
/// Every image is compared with what PostgreSQL itself computes.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class GeneratedColumnTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Schema =
        """
        CREATE TABLE g (id int PRIMARY KEY, a int, note text,
                        b int GENERATED ALWAYS AS (a * 2) STORED,
                        "Label x" text GENERATED ALWAYS AS (upper(note) || '!') STORED,
                        secret text);
        """;

    /// <summary>The generated columns of <c>g</c>, as the images lack them before PostgreSQL 18.</summary>
    private static readonly string[] Generated = ["Label x", "b"];

    /// <summary>
    /// Pairs the n-th stored change of a table with the n-th oracle record, as <see cref="Oracle.Mismatches"/> does, with
    /// the keys <c>$2</c> taken out of the oracle's images by PostgreSQL (<c>jsonb - text[]</c>).
    /// </summary>
    private const string MismatchesWithout =
        """
        WITH c AS (
            SELECT row_number() OVER (ORDER BY commit_lsn, ordinal) AS n, operation, before, after
            FROM hindsight.changes WHERE "table" = $1),
        o AS (
            SELECT row_number() OVER (ORDER BY seq) AS n, op AS operation, before - $2::text[] AS before, after - $2::text[] AS after
            FROM oracle.log WHERE tbl = $1)
        SELECT coalesce(c.n, o.n)::text, c.operation, o.operation, c.before::text, o.before::text, c.after::text, o.after::text
        FROM c FULL JOIN o USING (n)
        WHERE c.n IS NULL OR o.n IS NULL OR c.operation <> o.operation OR c.before <> o.before OR c.after <> o.after
        ORDER BY 1 LIMIT 20
        """;

    private static async Task<bool> PublishesGeneratedAsync(CaptureHarness h) =>
        await h.ScalarAsync<int>("SELECT current_setting('server_version_num')::int") >= 180000;

    private async Task AssertMatchesOracleAsync(CaptureHarness h, string table, string[] without)
    {
        var mismatches = await h.RowsAsync(MismatchesWithout, table, without);
        foreach (var m in mismatches)
            output.WriteLine($"#{m[0]} op {m[1]} vs {m[2]}\n  before {m[3]}\n  oracle {m[4]}\n  after  {m[5]}\n  oracle {m[6]}");
        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task Images_equal_to_jsonb_without_the_generated_columns_the_server_does_not_publish()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, Oracle.Install + Schema + Oracle.Attach("g"));
        var report = await h.SetupAsync();
        var publishes = await PublishesGeneratedAsync(h);
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO g (id, a, note) VALUES (1, 3, 'x'), (2, NULL, NULL), (3, -7, 'ünï')");
        await h.ExecuteAsync("UPDATE g SET a = a + 1, note = note || 'y' WHERE id IN (1, 2)");
        await h.ExecuteAsync("UPDATE g SET id = 4 WHERE id = 3");
        await h.ExecuteAsync("DELETE FROM g WHERE id = 2");
        await h.CatchUpAsync();

        Assert.Equal(3 + 2 + 1 + 1, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'g'"));
        if (publishes)
        {
            // PostgreSQL 18: the publication sends stored generated columns, and the images are to_jsonb() of the row.
            Assert.Equal("s", await h.ScalarAsync<string>("SELECT pubgencols::text FROM pg_publication WHERE pubname = $1", h.Slot));
            await AssertMatchesOracleAsync(h, "g", []);
            Assert.Empty(report.UntrackedColumns);
            return;
        }

        await AssertMatchesOracleAsync(h, "g", Generated);
        // Setup names what the images lack, and the store records it for as-of.
        Assert.Equal(Generated.Order(StringComparer.Ordinal), report.UntrackedColumns.Select(c => c.Column).Order(StringComparer.Ordinal));
        Assert.All(report.UntrackedColumns, c => Assert.Equal(UntrackedReason.Generated, c.Reason));
        Assert.Contains(report.Notes, n => n.Contains("public.g: b, \"Label x\" (generated)", StringComparison.Ordinal));
        Assert.Contains("not in images: b (generated), \"Label x\" (generated)", report.ToText(), StringComparison.Ordinal);
        var stored = await h.RowsAsync("SELECT schema, \"table\", \"column\", reason FROM hindsight.untracked_columns ORDER BY \"column\"");
        Assert.Equal([["public", "g", "Label x", "generated"], ["public", "g", "b", "generated"]], stored);
    }

    [Fact]
    public async Task As_of_marks_generated_columns_as_not_tracked_and_redacted_values_as_redacted()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        var publishes = await PublishesGeneratedAsync(h);
        h.StartWorker(h.Options(o => new Hindsight.Worker.CaptureOptions
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, RedactColumns = ["g.secret"],
        }));
        await h.ExecuteAsync("INSERT INTO g (id, a, note, secret) VALUES (1, 3, 'x', 'hunter2'), (2, 5, 'y', NULL)");
        await h.CatchUpAsync();

        var result = await new AuditTrail(h.Source).AsOfAsync(TableName.Parse("g"), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(2, result.Rows.Count);
        var one = result.Rows.Single(r => r.PrimaryKey == "1");
        var two = result.Rows.Single(r => r.PrimaryKey == "2");
        // The stored value of a redacted column is a digest, never the value.
        Assert.Matches("^redacted:[0-9a-f]{16}$", one.Row["secret"]!.GetValue<string>());
        Assert.Equal(UntrackedReason.Redacted, one.UntrackedColumns["secret"]);
        Assert.False(two.UntrackedColumns.ContainsKey("secret")); // NULL stays NULL: nothing to hide
        Assert.Equal(UntrackedReason.Redacted, result.UntrackedColumns["secret"]);

        // The row images, as PostgreSQL renders the rows, less what is not tracked.
        var without = publishes ? new[] { "secret" } : [.. Generated, "secret"];
        var expected = await h.ScalarAsync<string>("SELECT (to_jsonb(g) - $1::text[])::text FROM g WHERE id = 2", (object)without);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), two.Row.DeepClone().AsObject().Also(o => o.Remove("secret"))),
            $"{two.Row.ToJsonString()} vs {expected}");

        if (publishes)
        {
            Assert.DoesNotContain(result.UntrackedColumns, c => c.Value == UntrackedReason.Generated);
            return;
        }
        foreach (var column in Generated)
        {
            Assert.Equal(UntrackedReason.Generated, result.UntrackedColumns[column]);
            Assert.Equal(UntrackedReason.Generated, one.UntrackedColumns[column]);
            Assert.False(one.Row.ContainsKey(column));
        }
        Assert.Contains("Label x, b (generated", result.UntrackedNote, StringComparison.Ordinal);

        // The CLI shows markers, never a value that could pass for data.
        var (columns, cells) = AsOfOutput.Cells(result.Rows, "null", result.UntrackedColumns);
        var row1 = cells[result.Rows.ToList().IndexOf(one)];
        Assert.Equal("(not tracked: generated)", row1[Array.IndexOf(columns, "b")]);
        Assert.Equal("(not tracked: generated)", row1[Array.IndexOf(columns, "Label x")]);
        Assert.Equal("(redacted)", row1[Array.IndexOf(columns, "secret")]);
        Assert.Equal("3", row1[Array.IndexOf(columns, "a")]);

        // A page and a single row say the same; a point before any row still names the table's generated columns.
        var page = await new AuditTrail(h.Source).AsOfPageAsync(TableName.Parse("g"), AsOfPoint.At(DateTimeOffset.UtcNow.AddMinutes(1)), new AsOfPage(1));
        Assert.Equal(UntrackedReason.Generated, page.UntrackedColumns["b"]);
        var before = await new AuditTrail(h.Source).AsOfAsync(TableName.Parse("g"), DateTimeOffset.UtcNow.AddYears(-1));
        Assert.Empty(before.Rows);
        Assert.Equal(UntrackedReason.Generated, before.UntrackedColumns["b"]);
    }

    [Fact]
    public async Task The_worker_records_generated_columns_added_since_setup_and_status_warns_of_them()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE plain (id int PRIMARY KEY, a int);");
        var publishes = await PublishesGeneratedAsync(h);
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.untracked_columns"));

        await h.ExecuteAsync("ALTER TABLE plain ADD COLUMN twice int GENERATED ALWAYS AS (a * 2) STORED");
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO plain (id, a) VALUES (1, 21)");
        await h.CatchUpAsync();
        await AssertImageAsync(h, publishes);

        var status = await new StatusReader(new StatusOptions { SourceConnectionString = h.ConnectionString, Slot = h.Slot, Publication = h.Slot }).ReadAsync();
        if (publishes)
        {
            Assert.Empty(status.UntrackedColumns);
            return;
        }
        Assert.Equal(["public", "plain", "twice", "generated"],
            Assert.Single(await h.RowsAsync("SELECT schema, \"table\", \"column\", reason FROM hindsight.untracked_columns")));
        var column = Assert.Single(status.UntrackedColumns);
        Assert.Equal(("plain", "twice", UntrackedReason.Generated), (column.Table, column.Column, column.Reason));
        Assert.Contains(status.Warnings, w => w.Contains("public.plain: twice (generated)", StringComparison.Ordinal));
        Assert.DoesNotContain(status.Problems, p => p.Contains("generated", StringComparison.Ordinal)); // a warning, not unhealthy
        Assert.Contains("untracked_columns", System.Text.Json.JsonSerializer.Serialize(Hindsight.Server.Contracts.HealthDto.From(status)), StringComparison.Ordinal);

        // Dropped again: the next worker start forgets it.
        await h.StopWorkerAsync();
        await h.ExecuteAsync("ALTER TABLE plain DROP COLUMN twice");
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO plain (id, a) VALUES (2, 1)");
        await h.CatchUpAsync();
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.untracked_columns"));
    }

    private static async Task AssertImageAsync(CaptureHarness h, bool publishes)
    {
        var without = publishes ? Array.Empty<string>() : ["twice"];
        Assert.True(await h.ScalarAsync<bool>(
            "SELECT c.after = to_jsonb(p) - $1::text[] FROM plain p JOIN hindsight.changes c ON c.\"table\" = 'plain' AND c.primary_key = p.id::text WHERE p.id = 1",
            (object)without));
    }

    [Fact]
    public async Task Revert_of_a_delete_and_of_an_update_never_writes_generated_columns()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema + "INSERT INTO g (id, a, note) VALUES (1, 3, 'x'), (2, 5, 'y');");
        h.StartWorker();
        await h.ExecuteAsync("CREATE SCHEMA copies; CREATE TABLE copies.g AS SELECT * FROM g");
        await h.ExecuteAsync("UPDATE g SET a = 100, note = 'changed' WHERE id = 1");
        await h.ExecuteAsync("DELETE FROM g WHERE id = 2");
        await h.CatchUpAsync();
        Assert.False(await SameAsCopyAsync(h));

        var reverter = new Reverter(h.Source, h.Source);
        var changes = await h.RowsAsync("SELECT id, operation FROM hindsight.changes WHERE \"table\" = 'g' ORDER BY id DESC");
        foreach (var change in changes)
        {
            var plan = await reverter.PlanAsync(new RevertSelection { ChangeId = long.Parse(change[0]) });
            Assert.Empty(plan.Conflicts);
            var statement = Assert.Single(plan.Statements);
            foreach (var column in Generated)
                Assert.DoesNotContain($"\"{column}\"", statement.Sql, StringComparison.Ordinal);
            var result = await reverter.ApplyAsync(plan);
            Assert.True(result.Applied);
            Assert.All(result.RowsAffected, n => Assert.Equal(1, n));
        }
        // The re-inserted row and the restored one, generated columns recomputed by PostgreSQL, equal the copy taken before.
        Assert.True(await SameAsCopyAsync(h));
    }

    private static Task<bool> SameAsCopyAsync(CaptureHarness h) => h.ScalarAsync<bool>(
        "SELECT (SELECT jsonb_agg(to_jsonb(x) ORDER BY x.id) FROM g x) = (SELECT jsonb_agg(to_jsonb(x) ORDER BY x.id) FROM copies.g x)");
}

internal static class JsonObjectTestExtensions
{
    /// <summary>Applies <paramref name="change"/> to <paramref name="value"/> and returns it.</summary>
    public static T Also<T>(this T value, Action<T> change)
    {
        change(value);
        return value;
    }
}
