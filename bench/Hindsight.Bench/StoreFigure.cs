using System.Diagnostics;
using System.Globalization;
using System.Text;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Retention;
using Hindsight.Store;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// Figure <c>store</c>: a store of 20,000,000 synthetic changes over 12 monthly partitions, as a year of a busy
/// application leaves it: record history p99, an as-of page of 100 rows, a page of changes filtered by context, daily
/// trends over every change, pruning the oldest month (the fold and the partition dropped whole), and the bytes each
/// change takes (heap, TOAST, each index).
/// </summary>
/// <remarks>
/// The store is filled in the server by INSERT … SELECT over generate_series, one month per statement: the same rows a
/// COPY would write, without sending them from a client. Three changes per transaction, a transaction every ~4.7 s over
/// 2026; per 7 changes: 2 of <c>accounts</c> (1,000,000 rows, each changed about 4 times, every 50th deleted in its last
/// version, the sixth), 3 of <c>orders</c> (2,000,000 rows) and 2 of <c>events</c> (inserts); images ~200 bytes; 90% carry a context
/// (500 users).
/// </remarks>
internal sealed class StoreFigure(BenchServer server, BenchOptions options)
{
    private const string Db = "hindsight_store";
    /// <summary>20,000,000; HINDSIGHT_BENCH_STORE_CHANGES sets another size (a quick look at plans, not a figure of record).</summary>
    private static readonly long Changes = long.TryParse(Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_STORE_CHANGES"), out var n) ? n : 20_000_000;
    private const int AccountRows = 1_000_000;
    private const int OrderRows = 2_000_000;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);

    public async Task<string> RunAsync()
    {
        await server.CreateDatabaseAsync(Db);
        try
        {
            return await MeasureAsync();
        }
        finally
        {
            if (!options.Keep) await server.DropDatabaseAsync(Db);
        }
    }

    private async Task<string> MeasureAsync()
    {
        await using var ds = server.DataSource(Db);
        await StoreMigrations.ApplyAsync(ds);
        await ChangePartitions.PartitionStoreAsync(ds, null, CancellationToken.None);
        await BenchServer.ExecAsync(ds, SyntheticChanges.ImageFunction);
        await BenchServer.ExecAsync(ds, $"SELECT hindsight.maintain_change_partitions(ARRAY(SELECT timestamptz '{Start.UtcDateTime:yyyy-MM-dd}Z' + g * interval '1 month' FROM generate_series(0, 11) g))");
        var sw = Stopwatch.StartNew();
        const int Steps = 20;
        for (var i = 0; i < Steps; i++)
        {
            await BenchServer.ExecAsync(ds, "SET work_mem = '64MB';\n" + SyntheticChanges.Fill(Changes * i / Steps, Changes * (i + 1) / Steps, Year.TotalSeconds / (Changes / 3.0), AccountRows, OrderRows, deleteVersion: 5));
            Console.Error.WriteLine($"[store]   filled {Changes * (i + 1) / Steps:N0} changes in {sw.Elapsed.TotalSeconds:0} s");
        }
        await BenchServer.ExecAsync(ds, "VACUUM ANALYZE hindsight.changes");
        // The fill and the VACUUM leave ~17 GB for the disk to write back; a checkpoint first, so that the queries and
        // the drops below wait on their own reads and writes, not on that.
        await BenchServer.ExecAsync(ds, "CHECKPOINT");
        var fillSeconds = sw.Elapsed.TotalSeconds;
        var stored = await server.ScalarAsync<long>(ds, "SELECT count(*) FROM hindsight.changes");
        var partitions = await server.ScalarAsync<long>(ds, "SELECT count(*) FROM hindsight.change_partitions() WHERE lower < timestamptz '2027-01-01Z'");
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"store: {stored:N0} synthetic changes in {partitions} monthly partitions of 2026, filled in the server in {fillSeconds:0} s, then VACUUM ANALYZEd\n\n");
        sb.Append(await SizeAsync(ds, stored)).Append('\n');

        var trail = new AuditTrail(ds);
        var table = new TextTable("query", "measured", "target", "met");
        var plans = new StringBuilder("plans (EXPLAIN (ANALYZE, BUFFERS) of the statements AuditTrail sends):\n");
        void Row(string what, double ms, double target, string scorecard)
        {
            table.Add(what, FormattableString.Invariant($"{ms:0.0} ms"), FormattableString.Invariant($"<= {target:N0} ms"), ms <= target ? "met" : "NOT met");
            Scorecard.Add("store of 20M changes: " + scorecard, FormattableString.Invariant($"{ms:0.0} ms"), FormattableString.Invariant($"<= {target:N0} ms"), ms <= target);
        }

        // Record history: 1,000 random accounts after 20 to warm up.
        var accounts = TableName.Parse("accounts");
        var random = new Random(42);
        for (var i = 0; i < 20; i++) await trail.HistoryAsync(accounts, random.Next(1, AccountRows + 1).ToString(CultureInfo.InvariantCulture));
        var history = new List<double>();
        var versions = 0L;
        for (var i = 0; i < 1000; i++)
        {
            var key = random.Next(1, AccountRows + 1).ToString(CultureInfo.InvariantCulture);
            sw.Restart();
            versions += (await trail.HistoryAsync(accounts, key)).Versions.Count;
            history.Add(sw.Elapsed.TotalMilliseconds);
        }
        table.Add($"record history p50 (1,000 random accounts, {versions / 1000.0:0.0} versions each)", FormattableString.Invariant($"{Percentile(history, 0.5):0.0} ms"), "", "");
        Row("record history p99", Percentile(history, 0.99), 10, "record history p99");

        // As-of pages of 100 rows: 50 pages, at random moments of the year and random places in the key order.
        var pages = new List<double>();
        for (var i = 0; i < 55; i++)
        {
            var at = Start + Year * random.NextDouble();
            var after = random.Next(1, AccountRows).ToString(CultureInfo.InvariantCulture);
            sw.Restart();
            var page = await trail.AsOfPageAsync(accounts, AsOfPoint.At(at), new AsOfPage(100, after));
            if (i >= 5) pages.Add(sw.Elapsed.TotalMilliseconds); // the first five warm up
            if (page.Rows.Count == 0) throw new InvalidOperationException($"an as-of page at {at:O} after key {after} was empty");
        }
        table.Add("as-of page of 100 accounts p50 (50 pages: random moments and keys)", FormattableString.Invariant($"{Percentile(pages, 0.5):0.0} ms"), "", "");
        table.Add("as-of page of 100 accounts p95", FormattableString.Invariant($"{Percentile(pages, 0.95):0.0} ms"), "", "");
        Row("as-of page of 100 rows, slowest of 50", pages.Max(), 50, "as-of page of 100 rows, slowest of 50");
        var (pageSql, pageParameters) = ChangeSql.AsOfStatement(accounts, new AsOfCut(Start + Year * 0.5, null), null, null,
            page: new AsOfPage(100, (AccountRows / 2).ToString(CultureInfo.InvariantCulture)));
        plans.Append("  as-of page:  ").Append(await QueryFigure.PlanAsync(ds, pageSql, serial: true, pageParameters)).Append('\n');

        // A page of changes filtered by context: the first and a later one, for 20 users.
        var contextPages = new List<double>();
        for (var u = 0; u < 22; u++)
        {
            var filter = new ChangeFilter { Context = $$"""{"userId":"user-{{random.Next(500)}}"}""" };
            sw.Restart();
            var first = await trail.QueryAsync(filter, new PageRequest { Limit = 100 });
            var firstMs = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            await trail.QueryAsync(filter, new PageRequest { Limit = 100, Cursor = first.NextCursor });
            if (u >= 2) contextPages.AddRange([firstMs, sw.Elapsed.TotalMilliseconds]);
        }
        Row("a page of 100 changes filtered by context (userId), slowest of 40 (first and second pages)", contextPages.Max(), 50, "a page filtered by context, slowest of 40");
        // The first window of a context page (AuditTrail reads such a filter in id windows).
        var maxId = await server.ScalarAsync<long>(ds, "SELECT max(id) FROM hindsight.changes");
        var (contextSql, contextParameters) = ChangeSql.PageStatement(new ChangeFilter { Context = """{"userId":"user-42"}""" }, new PageRequest { Limit = 100 },
            (maxId - 9_999, maxId + 1), 101);
        plans.Append("  context:     ").Append(await QueryFigure.PlanAsync(ds, contextSql, serial: false, contextParameters)).Append('\n');

        // Daily trends over every change of the year: the hourly counts brought up to date first (the worker does it every
        // 10 minutes), then the changes stored since counted live.
        sw.Restart();
        var counted = await server.ScalarAsync<long>(ds, "SELECT hindsight.count_changes()");
        table.Add($"counting {counted:N0} changes into the hourly counts (once; then the worker adds each 10 minutes' changes)",
            FormattableString.Invariant($"{sw.Elapsed.TotalMilliseconds:N0} ms"), "", "");
        await BenchServer.ExecAsync(ds, "VACUUM ANALYZE hindsight.change_counts");
        // 10,000 changes more, stored after the counting (the first days of 2027): trends count them live.
        await BenchServer.ExecAsync(ds, SyntheticChanges.Fill(Changes, Changes + 10_000, Year.TotalSeconds / (Changes / 3.0), AccountRows, OrderRows, deleteVersion: 5));
        await new ChangeTrends(ds).CountAsync(new ChangeFilter(), TrendBucket.Day, TrendGrouping.ByTable);
        sw.Restart();
        var points = await new ChangeTrends(ds).CountAsync(new ChangeFilter(), TrendBucket.Day, TrendGrouping.ByTable);
        Row($"daily trends by table over all {stored:N0} changes ({points.Count} points)", sw.Elapsed.TotalMilliseconds, 1000, "daily trends over all changes");

        // Pruning January: the fold (one SNAPSHOT per row that existed at the horizon) and the partition dropped whole.
        var february = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
        sw.Restart();
        var pruned = await new Pruner(ds).PruneAsync(february, []);
        var pruneMs = sw.Elapsed.TotalMilliseconds;
        if (!pruned.DroppedPartitions.Contains("hindsight.changes_p20260101")) throw new InvalidOperationException("January's partition was not dropped");
        table.Add($"prune of January: {pruned.Pruned:N0} changes, {pruned.Folded:N0} rows folded, its partition dropped", FormattableString.Invariant($"{pruneMs:N0} ms"), "", "");
        // Dropping a month alone: what the prune does once the fold is written, for February's, March's and April's
        // partitions (the median against the target: a single DROP depends on what the filesystem is doing meanwhile).
        await BenchServer.ExecAsync(ds, "CHECKPOINT"); // the prune's deletes and SNAPSHOTs written back first, as above
        await using (var conn = await ds.OpenConnectionAsync())
        {
            var drops = new List<double>();
            foreach (var month in new[] { "20260201", "20260301", "20260401" })
            {
                sw.Restart();
                await BenchServer.ExecAsync(conn, $"DROP TABLE hindsight.changes_p{month}");
                drops.Add(sw.Elapsed.TotalMilliseconds);
            }
            Row($"dropping a month's partition (DROP TABLE, ~1.7M changes), median of 3 ({string.Join(", ", drops.Select(d => d.ToString("N0", CultureInfo.InvariantCulture)))} ms)",
                Percentile(drops, 0.5), 1000, "dropping a month (median of 3)");
        }
        sb.Append(table).Append('\n').Append(plans);
        return sb.ToString();
    }

    /// <summary>Bytes per change: heap, TOAST and each index, summed over the partitions.</summary>
    private async Task<string> SizeAsync(NpgsqlDataSource ds, long changes)
    {
        var table = new TextTable("part", "bytes", "bytes per change");
        await using var conn = await ds.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand(
            """
            WITH parts AS (SELECT p.partition::regclass AS rel FROM hindsight.change_partitions() p
                           UNION ALL SELECT 'hindsight.changes_default'::regclass)
            SELECT 'heap', sum(pg_relation_size(rel)) FROM parts
            UNION ALL SELECT 'TOAST', sum(pg_total_relation_size(c.reltoastrelid)) FROM parts JOIN pg_class c ON c.oid = parts.rel WHERE c.reltoastrelid <> 0
            UNION ALL SELECT regexp_replace(pi.indexrelid::regclass::text, '^hindsight\.changes_(p\d+|partitioned_default|default)_?', ''), sum(pg_relation_size(pi.indexrelid))
                      FROM parts JOIN pg_index pi ON pi.indrelid = parts.rel GROUP BY 1
            """, conn);
        await using var r = await cmd.ExecuteReaderAsync();
        long total = 0;
        var rows = new List<(string, long)>();
        while (await r.ReadAsync()) rows.Add((r.GetString(0), (long)r.GetDecimal(1)));
        foreach (var (part, bytes) in rows)
        {
            table.Add(part, bytes.ToString("N0", CultureInfo.InvariantCulture), ((double)bytes / changes).ToString("0", CultureInfo.InvariantCulture));
            total += bytes;
        }
        table.Add("total", total.ToString("N0", CultureInfo.InvariantCulture), ((double)total / changes).ToString("0", CultureInfo.InvariantCulture));
        Scorecard.Add("store of 20M changes: bytes per change (heap, TOAST and indexes)", ((double)total / changes).ToString("0", CultureInfo.InvariantCulture), "reported", null);
        return "size of the store (pg_relation_size over every partition):\n" + table;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[(int)Math.Ceiling(p * sorted.Count) - 1];
    }
}
