using System.Text.RegularExpressions;
using Hindsight.Cli;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Setup;

/// <summary>
/// <c>setup --snapshot</c> shows how far it has copied. Not on a terminal (here: captured stderr) that is plain lines: a
/// line per table when it is copied, with the running total against PostgreSQL's estimate, and a line every two seconds
/// in between.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed partial class SnapshotProgressTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_snapshot_reports_each_copied_table_with_rows_against_the_estimate()
    {
        var cs = await fixture.CreateDatabaseAsync("snapprogress");
        await using (var db = NpgsqlDataSource.Create(cs))
            await db.CreateCommand(
                "CREATE TABLE big (id int PRIMARY KEY, v text); INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 12000) g;" +
                "CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small SELECT generate_series(1, 30); ANALYZE big; ANALYZE small;").ExecuteNonQueryAsync();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await HindsightCli.RunAsync(["setup", "--source", cs, "--snapshot", "--slot", "snapprogress", "--publication", "snapprogress"],
            CliEnvironment.Captured(stdout, stderr));
        output.WriteLine(stderr.ToString());
        Assert.Equal(0, code);

        var copied = stderr.ToString().Split('\n').Where(l => l.Contains("table copied", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, copied.Count);
        // Running totals, in copy order, against the estimate PostgreSQL keeps (reltuples, exact after ANALYZE here).
        var totals = copied.Select(l => long.Parse(Rows().Match(l).Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(12_030, totals.Max());
        Assert.Contains(totals, t => t is 12_000 or 30);
        Assert.All(copied, l => Assert.Contains("of about 12,030 rows", l, StringComparison.Ordinal));
        Assert.Contains("12030", stdout.ToString().Replace(",", "", StringComparison.Ordinal)); // the report's rows, on stdout as before

        await using var teardown = NpgsqlDataSource.Create(cs);
        await teardown.CreateCommand("SELECT pg_drop_replication_slot('snapprogress')").ExecuteNonQueryAsync();
    }

    [GeneratedRegex(@"copied, ([\d,]+) of about")]
    private static partial Regex Rows();
}
