using System.Globalization;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Retention;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>
/// Trends over the store's hourly change counts: after the counts are brought up to date, after more changes are stored
/// (counted live), after deletes and a prune that drops a whole partition, with two sources of the same database and
/// table names, and with a time filter that cuts hours. Every answer is checked against PostgreSQL counting the stored
/// changes itself; the counting never moves past a change a transaction has not committed yet.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TrendCountsTests(PostgresFixture fixture)
{
    /// <summary>Synthetic changes: $1 of them from $2 on, one every $3 seconds, two sources with the same names, two tables, three operations.</summary>
    private const string Insert =
        """
        INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
        SELECT CASE WHEN g % 3 = 0 THEN 'west' ELSE 'east' END, 'shop', 'public', CASE WHEN g % 5 < 2 THEN 'orders' ELSE 'items' END,
               (g % 97)::text, (ARRAY['CREATE', 'UPDATE', 'DELETE'])[1 + g % 3], jsonb_build_object('id', g % 97),
               $2::timestamptz + g * make_interval(secs => $3), g, g, $4 + g, 0, now()
        FROM generate_series(1, $1) g
        """;

    [Fact]
    public async Task Trends_from_the_hourly_counts_and_the_live_rest_equal_PostgreSQL_counting_the_changes()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE t (id int PRIMARY KEY)");
        var now = DateTimeOffset.UtcNow;
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var first = monthStart.AddMonths(-3).AddMinutes(7);
        // About three months of changes, one every 37 minutes and a few seconds (hours are cut anywhere), in partitions of their own.
        await h.ExecuteAsync(Insert, 3_000, first.UtcDateTime, 2_230.5, 0L);
        await h.ExecuteAsync("SELECT hindsight.maintain_change_partitions()");
        var trends = new ChangeTrends(h.Source);

        // Nothing counted yet: everything is live.
        await AssertSameAsync(h, trends, new ChangeFilter(), TrendBucket.Day, TrendGrouping.ByTable);
        Assert.Equal(3_000L, await h.ScalarAsync<long>("SELECT hindsight.count_changes()"));
        Assert.Equal(await h.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes"), await h.ScalarAsync<long>("SELECT counted_to FROM hindsight.change_counts_state"));
        Assert.Equal(0L, await h.ScalarAsync<long>(Drift));
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT hindsight.count_changes()"));

        // More changes, not counted: the counts and the live rest together.
        await h.ExecuteAsync(Insert, 500, now.AddHours(-30).UtcDateTime, 61.0, 100_000L);
        await AssertAllAsync(h, trends, now);

        // Trends do read the counts: a count moved by hand shows (and is put back).
        await h.ExecuteAsync(Moved, +1000);
        var moved = await trends.CountAsync(new ChangeFilter { Source = "east", Tables = [TableName.Parse("items")], Operations = [Operation.Update] }, TrendBucket.Week, TrendGrouping.ByTable);
        Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) + 1000 FROM hindsight.changes WHERE source = 'east' AND \"table\" = 'items' AND operation = 'UPDATE'"), moved.Sum(p => p.Count));
        await h.ExecuteAsync(Moved, -1000);

        // A transaction that took an id and has not committed holds the counting back: nothing past it is counted, and
        // the counting does not wait for it. Once it commits, its change is counted.
        await using (var open = await h.Source.OpenConnectionAsync())
        {
            await using var tx = await open.BeginTransactionAsync();
            await using (var cmd = new NpgsqlCommand(Insert, open, tx))
            {
                cmd.Parameters.AddWithValue(1);
                cmd.Parameters.AddWithValue(now.AddMinutes(-5).UtcDateTime);
                cmd.Parameters.AddWithValue(1.0);
                cmd.Parameters.AddWithValue(200_000L);
                await cmd.ExecuteNonQueryAsync();
            }
            await h.ExecuteAsync(Insert, 10, now.AddMinutes(-4).UtcDateTime, 1.0, 300_000L); // committed, with larger ids
            var before = await h.ScalarAsync<long>("SELECT counted_to FROM hindsight.change_counts_state");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            Assert.True(await h.ScalarAsync<bool>("SELECT hindsight.count_changes() IS NULL"));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the counting waited {sw.Elapsed} for a writer");
            Assert.Equal(before, await h.ScalarAsync<long>("SELECT counted_to FROM hindsight.change_counts_state"));
            await AssertAllAsync(h, trends, now);
            await tx.CommitAsync();
        }
        Assert.Equal(511L, await h.ScalarAsync<long>("SELECT hindsight.count_changes()"));
        Assert.Equal(0L, await h.ScalarAsync<long>(Drift));
        await AssertAllAsync(h, trends, now);

        // Deletes (as teardown's purge of a source does) take counted changes out, and uncounted ones are never counted.
        await h.ExecuteAsync("DELETE FROM hindsight.changes WHERE source = 'west' AND \"table\" = 'orders'");
        Assert.Equal(0L, await h.ScalarAsync<long>(Drift));
        await AssertAllAsync(h, trends, now);

        // A prune: the oldest month's partition is dropped whole, the next month's changes before the horizon deleted.
        var horizon = monthStart.AddMonths(-1).AddDays(10);
        var pruned = await new Pruner(h.Source).PruneAsync(horizon, []);
        Assert.Contains($"hindsight.changes_p{monthStart.AddMonths(-3):yyyyMMdd}", pruned.DroppedPartitions);
        Assert.Equal(0L, await h.ScalarAsync<long>(Drift));
        await AssertAllAsync(h, trends, now);
        await h.ScalarAsync<long>("SELECT hindsight.count_changes()"); // the SNAPSHOTs the prune wrote
        Assert.Equal(0L, await h.ScalarAsync<long>(Drift));
        await AssertAllAsync(h, trends, now);
    }

    /// <summary>Moves the first hourly count of east's UPDATEs of items by $1.</summary>
    private const string Moved =
        """
        UPDATE hindsight.change_counts SET changes = changes + $1
        WHERE (hour, "table", source, operation) = (SELECT min(hour), 'items', 'east', 'UPDATE' FROM hindsight.change_counts
                                                    WHERE "table" = 'items' AND source = 'east' AND operation = 'UPDATE')
        """;

    /// <summary>Hourly counts that differ from PostgreSQL's count of the changes up to the watermark (0 when they agree).</summary>
    private const string Drift =
        """
        WITH truth AS (
            SELECT date_trunc('hour', c.committed_at, 'UTC') AS hour, c.source, c.database, c.schema, c."table", c.operation, count(*) AS n
            FROM hindsight.changes c WHERE c.id <= (SELECT counted_to FROM hindsight.change_counts_state)
            GROUP BY 1, 2, 3, 4, 5, 6
        )
        SELECT count(*) FROM truth t FULL JOIN hindsight.change_counts k
            ON (k.hour, k.source, k.database, k.schema, k."table", k.operation) = (t.hour, t.source, t.database, t.schema, t."table", t.operation)
        WHERE t.n IS DISTINCT FROM k.changes
        """;

    private static async Task AssertAllAsync(CaptureHarness h, ChangeTrends trends, DateTimeOffset now)
    {
        await AssertSameAsync(h, trends, new ChangeFilter(), TrendBucket.Day, TrendGrouping.ByTable);
        await AssertSameAsync(h, trends, new ChangeFilter(), TrendBucket.Hour, TrendGrouping.ByOperation);
        await AssertSameAsync(h, trends, new ChangeFilter(), TrendBucket.Week, TrendGrouping.BySource);
        // Ends that cut hours (and one that cuts the last, live, hours), and the filters the counts can answer.
        await AssertSameAsync(h, trends, new ChangeFilter { Since = now.AddDays(-50).AddMinutes(-13), Until = now.AddDays(-2).AddSeconds(-7) },
            TrendBucket.Day, TrendGrouping.BySource);
        await AssertSameAsync(h, trends, new ChangeFilter { Since = now.AddHours(-23).AddMinutes(3), Source = "east", Database = "shop" },
            TrendBucket.Hour, TrendGrouping.ByTable);
        await AssertSameAsync(h, trends, new ChangeFilter { Since = now.AddHours(-26).AddMinutes(3), Until = now.AddHours(-25).AddMinutes(-10) },
            TrendBucket.Hour, TrendGrouping.ByTable);
        await AssertSameAsync(h, trends, new ChangeFilter { Tables = [TableName.Parse("public.orders")], Operations = [Operation.Create, Operation.Delete] },
            TrendBucket.Day, TrendGrouping.ByOperation);
    }

    /// <summary>Trends equal PostgreSQL's count of the matching changes per bucket and group.</summary>
    private static async Task AssertSameAsync(CaptureHarness h, ChangeTrends trends, ChangeFilter filter, TrendBucket bucket, TrendGrouping by)
    {
        var points = await trends.CountAsync(filter, bucket, by);
        var group = by.Kind switch
        {
            TrendGroupKind.Table => "schema || '.' || \"table\"",
            TrendGroupKind.Operation => "operation",
            _ => "source",
        };
        var conditions = new List<string> { "true" };
        var parameters = new List<object>();
        string Add(object value) { parameters.Add(value); return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture); }
        if (filter.Since is { } since) conditions.Add($"committed_at >= {Add(since.UtcDateTime)}::timestamptz");
        if (filter.Until is { } until) conditions.Add($"committed_at < {Add(until.UtcDateTime)}::timestamptz");
        if (filter.Source is { } source) conditions.Add($"source = {Add(source)}");
        if (filter.Database is { } database) conditions.Add($"database = {Add(database)}");
        if (filter.Tables.Count > 0) conditions.Add($"\"table\" = ANY({Add(filter.Tables.Select(t => t.Name).ToArray())})");
        if (filter.Operations.Count > 0) conditions.Add($"operation = ANY({Add(filter.Operations.Select(o => o.ToString().ToUpperInvariant()).ToArray())})");
        var expected = await h.RowsAsync(
            $"""
            SELECT to_char(date_trunc('{bucket.ToString().ToLowerInvariant()}', committed_at, 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), {group}, count(*)
            FROM hindsight.changes WHERE {string.Join(" AND ", conditions)}
            GROUP BY 1, 2 ORDER BY 1, 2
            """, [.. parameters]);
        Assert.NotEmpty(expected);
        var actual = points.Select(p => new[] { p.Bucket.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), p.Group ?? "", p.Count.ToString(CultureInfo.InvariantCulture) });
        Assert.Equal(expected.Select(r => string.Join(" | ", r)), actual.Select(r => string.Join(" | ", r)));
    }
}
