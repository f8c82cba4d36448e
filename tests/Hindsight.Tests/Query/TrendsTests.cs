using System.Text.Json;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>Trends: counts per bucket and group checked against the writes the test made; hostile keys; bad buckets.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TrendsTests(PostgresFixture fixture)
{
    private const string HostileKey = "u'; DROP TABLE hindsight.changes; --";
    private static readonly string[] Users = ["alice", "O'Brien; DROP TABLE t1 --", "Zoë 🦄"];

    /// <summary>The writes made: (table, operation, user or null) per change, counted by the test itself.</summary>
    private static async Task<(CaptureHarness H, List<(string Table, string Op, string? User)> Made, DateTime Start)> WorkloadAsync(PostgresFixture fixture)
    {
        var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE t1 (id int PRIMARY KEY, v text); CREATE TABLE t2 (id int PRIMARY KEY, v text);");
        h.StartWorker();
        var start = await h.ScalarAsync<DateTime>("SELECT now()");
        var made = new List<(string, string, string?)>();
        var random = new Random(4);
        for (var i = 1; i <= 30; i++)
        {
            var user = random.Next(4) is var u && u < 3 ? Users[u] : null;
            // The hostile key is also a real key of the context: grouping by it must find these values.
            var ctx = user is null ? "" :
                "SELECT pg_logical_emit_message(true, 'hindsight', '" +
                JsonSerializer.Serialize(new Dictionary<string, string> { ["userId"] = user, [HostileKey] = "h" + (i % 2) }).Replace("'", "''") + "'); ";
            var table = random.Next(2) == 0 ? "t1" : "t2";
            await h.ExecuteAsync($"BEGIN; {ctx}INSERT INTO {table} VALUES ({i}, 'a'); UPDATE {table} SET v = 'b' WHERE id = {i}; COMMIT;");
            made.Add((table, "CREATE", user));
            made.Add((table, "UPDATE", user));
            if (i % 5 == 0)
            {
                await h.ExecuteAsync($"BEGIN; {ctx}DELETE FROM {table} WHERE id = {i}; COMMIT;");
                made.Add((table, "DELETE", user));
            }
        }
        await h.CatchUpAsync();
        return (h, made, start);
    }

    private static Dictionary<string, long> Totals(IEnumerable<TrendPoint> points) =>
        points.GroupBy(p => p.Group ?? "<none>").ToDictionary(g => g.Key, g => g.Sum(p => p.Count));

    private static Dictionary<string, long> Expected<T>(IEnumerable<T> made, Func<T, string?> key) =>
        made.GroupBy(m => key(m) ?? "<none>").ToDictionary(g => g.Key, g => (long)g.Count());

    [Fact]
    public async Task Counts_by_table_operation_and_context_key_equal_the_writes_made_and_filters_narrow_them()
    {
        var (h, made, start) = await WorkloadAsync(fixture);
        await using var _ = h;
        var trends = new ChangeTrends(h.Source);
        var end = await h.ScalarAsync<DateTime>("SELECT now()");

        var byTable = await trends.CountAsync(new ChangeFilter(), TrendBucket.Minute, TrendGrouping.ByTable);
        Assert.Equal(Expected(made, m => "public." + m.Table), Totals(byTable));
        // Every bucket is a minute start inside the test's time window, ordered.
        foreach (var p in byTable)
        {
            Assert.Equal(0, p.Bucket.Second);
            Assert.Equal(0, p.Bucket.Millisecond);
            Assert.InRange(p.Bucket.UtcDateTime, start.AddMinutes(-1), end);
        }
        Assert.Equal(byTable.OrderBy(p => p.Bucket).ThenBy(p => p.Group, StringComparer.Ordinal).ToList(), byTable);

        var byOp = await trends.CountAsync(new ChangeFilter(), TrendBucket.Hour, TrendGrouping.ByOperation);
        Assert.Equal(Expected(made, m => m.Op), Totals(byOp));
        Assert.All(byOp, p => Assert.Equal(0, p.Bucket.Minute));

        var byUser = await trends.CountAsync(new ChangeFilter(), TrendBucket.Day, TrendGrouping.ByContext("userId"));
        Assert.Equal(Expected(made, m => m.User), Totals(byUser));
        // Within a bucket, changes without the key come last.
        Assert.All(byUser.GroupBy(p => p.Bucket), b => Assert.DoesNotContain(b.SkipWhile(p => p.Group is not null), p => p.Group is not null));
        Assert.Contains(byUser, p => p.Group is null);

        // The same filter as `changes` narrows the counts.
        var narrowed = await trends.CountAsync(
            new ChangeFilter { Tables = [TableName.Parse("t1")], Operations = [Operation.Update], Context = JsonSerializer.Serialize(new { userId = Users[1] }) },
            TrendBucket.Week, TrendGrouping.ByContext("userId"));
        var expected = made.Count(m => m is { Table: "t1", Op: "UPDATE" } && m.User == Users[1]);
        Assert.Equal(expected, narrowed.Sum(p => p.Count));
        Assert.All(narrowed, p => Assert.Equal(Users[1], p.Group));
    }

    [Fact]
    public async Task A_hostile_context_key_is_a_value_and_bad_buckets_and_groupings_are_clear_errors()
    {
        var (h, made, _) = await WorkloadAsync(fixture);
        await using var _h = h;
        var trends = new ChangeTrends(h.Source);

        var hostile = await trends.CountAsync(new ChangeFilter(), TrendBucket.Hour, TrendGrouping.ByContext(HostileKey));
        var withContext = made.Count(m => m.User is not null);
        Assert.Equal(made.Count, hostile.Sum(p => p.Count));
        Assert.Equal(withContext, hostile.Where(p => p.Group is "h0" or "h1").Sum(p => p.Count));
        Assert.Equal(made.Count, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));

        var missing = await trends.CountAsync(new ChangeFilter(), TrendBucket.Hour, TrendGrouping.ByContext("nope' OR '1'='1"));
        Assert.All(missing, p => Assert.Null(p.Group));
        Assert.Equal(made.Count, missing.Sum(p => p.Count));

        var bucket = Assert.Throws<ArgumentException>(() => TrendBucketParser.Parse("fortnight"));
        Assert.Contains("minute, hour, day or week", bucket.Message);
        Assert.Throws<ArgumentException>(() => TrendGrouping.Parse("user"));
        Assert.Throws<ArgumentException>(() => TrendGrouping.Parse("context:"));
        Assert.Equal(HostileKey, TrendGrouping.Parse("context:" + HostileKey).ContextKey);

        // The CLI: a bad bucket exits 1 with one line; csv counts add up.
        var (code, _, err) = await RunAsync("trends", "--source", h.ConnectionString, "--bucket", "fortnight");
        Assert.Equal(1, code);
        Assert.Equal("hindsight: error: unknown bucket 'fortnight' (use minute, hour, day or week)", err.Trim());
        var csv = await RunAsync("trends", "--source", h.ConnectionString, "--bucket", "day", "--by", "operation", "--format", "csv");
        Assert.Equal(0, csv.Code);
        var lines = csv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("bucket,group,count", lines[0]);
        Assert.Equal(made.Count, lines.Skip(1).Sum(l => long.Parse(l.Split(',')[2])));
        var table = await RunAsync("trends", "--source", h.ConnectionString, "--by", "context:userId");
        Assert.Equal(0, table.Code);
        Assert.Contains("O'Brien", table.Out);
    }

    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => CliRun.RunAsync(args);
}
