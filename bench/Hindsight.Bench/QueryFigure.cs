using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Store;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// Figure <c>query</c>: the query side over a store of 1,050,000 synthetic changes, filled by SQL (no capture):
/// record history p50/p99, as-of of a 100,000-row table (at moments, at a transaction, at an LSN, and through the CLI in
/// process), a context-filtered page; with EXPLAIN plan summaries.
/// </summary>
internal sealed class QueryFigure(BenchServer server)
{
    private const string Db = "hindsight_query";
    private const int Changes = 1_050_000;
    private const int AccountRows = 100_000;

    // Changes n = 0..1,049,999, 100 ms apart per transaction (~29 h): accounts 100,000 rows × 3 versions, every 50th
    // deleted in its 3rd; orders 150,000 rows × 3 versions; events 300,000 inserts (SyntheticChanges).
    private static readonly string Fill = SyntheticChanges.Fill(0, Changes, secondsPerTransaction: 0.1, AccountRows, orderRows: 150_000, deleteVersion: 2);

    public async Task<string> RunAsync()
    {
        await server.CreateDatabaseAsync(Db);
        await using var ds = server.DataSource(Db);
        await StoreMigrations.ApplyAsync(ds);
        var sw = Stopwatch.StartNew();
        await BenchServer.ExecAsync(ds, SyntheticChanges.ImageFunction);
        await BenchServer.ExecAsync(ds, "SET maintenance_work_mem = '256MB'; SET work_mem = '64MB';\n" + Fill);
        // A store that has been running is vacuumed (autovacuum after inserts, PG 13+): hint bits set, visibility map
        // current, as index-only scans need. A freshly filled table would measure the first reader's hint-bit writes.
        await BenchServer.ExecAsync(ds, "VACUUM ANALYZE hindsight.changes");
        var fillSeconds = sw.Elapsed.TotalSeconds;
        var stored = await server.ScalarAsync<long>(ds, "SELECT count(*) FROM hindsight.changes");
        var size = await server.ScalarAsync<string>(ds, "SELECT pg_size_pretty(pg_total_relation_size('hindsight.changes'))");
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"store: {stored:N0} synthetic changes ({size} with indexes), filled by SQL in {fillSeconds:0} s; VACUUM ANALYZEd\n\n");

        var trail = new AuditTrail(ds);
        var accounts = TableName.Parse("accounts");
        var random = new Random(42);
        for (var i = 0; i < 20; i++) await trail.HistoryAsync(accounts, random.Next(1, AccountRows + 1).ToString(CultureInfo.InvariantCulture));
        var history = new List<double>();
        var versions = 0L;
        for (var i = 0; i < 1000; i++)
        {
            var key = random.Next(1, AccountRows + 1).ToString(CultureInfo.InvariantCulture);
            sw.Restart();
            var h = await trail.HistoryAsync(accounts, key);
            history.Add(sw.Elapsed.TotalMilliseconds);
            versions += h.Versions.Count;
        }
        history.Sort();
        double Pct(double p) => history[(int)Math.Ceiling(p * history.Count) - 1];

        var table = new TextTable("query", "measured", "target", "met");
        table.Add($"record history p50 (1,000 random keys, {versions / 1000.0:0.0} versions each)", $"{Pct(0.50):0.00} ms", "", "");
        table.Add("record history p99", $"{Pct(0.99):0.00} ms", "< 10 ms", Pct(0.99) < 10 ? "met" : "NOT met");
        Scorecard.Add("query: record history p99 (1,000 random keys)", FormattableString.Invariant($"{Pct(0.99):0.00} ms"), "< 10 ms", Pct(0.99) < 10);
        var slowestAsOf = 0.0;
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var span = TimeSpan.FromMilliseconds(Changes / 3 * 100.0);
        foreach (var fraction in new[] { 0.2, 0.5, 1.0 })
        {
            var at = start + span * fraction;
            sw.Restart();
            var asOf = await trail.AsOfAsync(accounts, at);
            var ms = sw.Elapsed.TotalMilliseconds;
            table.Add($"as-of accounts at {at.UtcDateTime:yyyy-MM-dd HH:mm} ({asOf.Rows.Count:N0} rows)", $"{ms:0} ms", "< 2,000 ms", ms < 2000 ? "met" : "NOT met");
            slowestAsOf = Math.Max(slowestAsOf, ms);
        }
        // The middle transaction of the fill (xid 1000 + k, commit LSN xid × 1000): the same state as the middle moment.
        var middle = 1000 + (long)(Changes / 3 * 0.5);
        foreach (var point in new[] { AsOfPoint.AfterTransaction(middle), AsOfPoint.AtLsn(new NpgsqlTypes.NpgsqlLogSequenceNumber((ulong)middle * 1000)) })
        {
            sw.Restart();
            var asOf = await trail.AsOfAsync(accounts, point);
            var ms = sw.Elapsed.TotalMilliseconds;
            table.Add($"as-of accounts at {point} ({asOf.Rows.Count:N0} rows)", $"{ms:0} ms", "< 2,000 ms", ms < 2000 ? "met" : "NOT met");
            slowestAsOf = Math.Max(slowestAsOf, ms);
        }
        Scorecard.Add($"query: as-of of a {AccountRows:N0}-row table, slowest of 5 (moments, a transaction, an LSN)",
            FormattableString.Invariant($"{slowestAsOf:N0} ms"), "< 2,000 ms", slowestAsOf < 2000);
        // The shell's whole path, in process: options, query, output (written to a null writer; a terminal adds its own time).
        foreach (var format in new[] { "json", "csv", "table" })
        {
            var error = new StringWriter();
            sw.Restart();
            var exit = await Hindsight.Cli.HindsightCli.RunAsync(
                ["as-of", "--source", "host=localhost;database=app", "--store", server.ConnectionString(Db), "--table", "accounts",
                 "--at", (start + span).UtcDateTime.ToString("O", CultureInfo.InvariantCulture), "--format", format],
                Hindsight.Cli.CliEnvironment.Captured(TextWriter.Null, error));
            var ms = sw.Elapsed.TotalMilliseconds;
            if (exit != 0) throw new InvalidOperationException($"hindsight as-of --format {format} failed: {error}");
            table.Add($"hindsight as-of --table accounts --at <end> --format {format} (in process)", $"{ms:0} ms", "", "");
        }
        var filter = new ChangeFilter { Context = """{"userId":"user-42"}""" };
        await trail.QueryAsync(filter);
        sw.Restart();
        var page = await trail.QueryAsync(filter, new PageRequest { Limit = 100 });
        table.Add($"changes --context userId=user-42, first page ({page.Changes.Count} of ~1,900)", $"{sw.Elapsed.TotalMilliseconds:0.0} ms", "", "");
        sw.Restart();
        page = await trail.QueryAsync(filter with { Tables = [accounts] }, new PageRequest { Limit = 100, Cursor = page.NextCursor });
        table.Add("changes --table accounts --context …, a later page", $"{sw.Elapsed.TotalMilliseconds:0.0} ms", "", "");
        sb.Append(table).Append('\n');

        // The planner prices index-only scans by the share of all-visible pages: shown because the as-of plans depend on it.
        var visible = await server.ScalarAsync<string>(ds,
            "SELECT relallvisible || ' of ' || relpages FROM pg_class WHERE oid = 'hindsight.changes'::regclass");
        sb.Append("plans (EXPLAIN (ANALYZE, BUFFERS) of the statements AuditTrail sends; transaction look-ups: copies; all-visible pages: ")
          .Append(visible).Append("):\n");
        var (historySql, historyParameters) = ChangeSql.HistoryStatement(accounts, "4711", null);
        sb.Append("  history:        ").Append(await PlanAsync(ds, historySql, parameters: historyParameters)).Append('\n');
        var (asOfSql, asOfParameters) = ChangeSql.AsOfStatement(accounts, new AsOfCut(start + span * 0.5, null), null, null);
        sb.Append("  as-of:          ").Append(await PlanAsync(ds, asOfSql, serial: true, asOfParameters)).Append('\n');
        var (lsnSql, lsnParameters) = ChangeSql.AsOfStatement(accounts, new AsOfCut(start + span * 0.5, middle * 1000), null, null);
        sb.Append("  as-of at LSN:   ").Append(await PlanAsync(ds, lsnSql, serial: true, lsnParameters)).Append('\n');
        sb.Append("  context:        ").Append(await PlanAsync(ds,
            """SELECT id FROM hindsight.changes c WHERE c.context @> '{"userId":"user-42"}' AND c.context <> '{}' ORDER BY c.id DESC LIMIT 101""")).Append('\n');
        sb.Append("  --transaction:  ").Append(await PlanAsync(ds,
            $"SELECT id FROM hindsight.changes c WHERE c.transaction_id = {middle} ORDER BY c.id DESC LIMIT 101")).Append('\n');
        sb.Append("  xid → commit:   ").Append(await PlanAsync(ds,
            $"SELECT c.source, c.commit_lsn, min(c.committed_at) FROM hindsight.changes c WHERE c.transaction_id = {middle} GROUP BY c.source, c.commit_lsn LIMIT 10")).Append('\n');
        return sb.ToString();
    }

    /// <summary>Execution time and the plan's node types (with index names), depth-first.</summary>
    internal static async Task<string> PlanAsync(NpgsqlDataSource ds, string sql, bool serial = false, ChangeSql.Parameters? parameters = null)
    {
        // serial: as AuditTrail.AsOfAsync runs it (SET LOCAL there; SET and RESET here, on one pooled connection).
        await using var conn = await ds.OpenConnectionAsync();
        if (serial) await BenchServer.ExecAsync(conn, "SET max_parallel_workers_per_gather = 0; SET jit = off");
        await using var cmd = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, conn);
        parameters?.ApplyTo(cmd);
        var json = (string)(await cmd.ExecuteScalarAsync())!;
        if (serial) await BenchServer.ExecAsync(conn, "RESET max_parallel_workers_per_gather; RESET jit");
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement[0];
        var nodes = new List<string>();
        void Walk(JsonElement plan)
        {
            var name = plan.GetProperty("Node Type").GetString()!;
            if (plan.TryGetProperty("Index Name", out var index)) name += $" ({index.GetString()})";
            nodes.Add(name);
            if (plan.TryGetProperty("Plans", out var children)) foreach (var c in children.EnumerateArray()) Walk(c);
        }
        Walk(root.GetProperty("Plan"));
        var top = root.GetProperty("Plan");
        var hits = top.TryGetProperty("Shared Hit Blocks", out var h) ? h.GetInt64() : 0;
        var reads = top.TryGetProperty("Shared Read Blocks", out var r) ? r.GetInt64() : 0;
        return string.Create(CultureInfo.InvariantCulture,
            $"{root.GetProperty("Execution Time").GetDouble():0.0} ms, buffers hit {hits:N0} read {reads:N0}: {string.Join(" > ", nodes)}");
    }
}
