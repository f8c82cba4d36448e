using System.Diagnostics;
using System.Globalization;
using System.Text;
using Hindsight.EntityFrameworkCore;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Store;
using Microsoft.EntityFrameworkCore;

namespace Hindsight.Bench;

/// <summary>
/// Figure <c>temporal</c>: EF Core's temporal operators over a store of 1,060,001 synthetic changes (the query figure's
/// 1,050,000, filled by SQL, and one account changed 10,000 more times), with the store in the queried database: a row
/// as of a moment (p50/p99 of 1,000 random keys), a whole 100,000-row table as of moments (beside the query library's
/// as-of of the same table in the same run), and every version of the row changed 10,000 times.
/// </summary>
internal sealed class TemporalFigure(BenchServer server)
{
    private const string Db = "hindsight_temporal";
    private const int Changes = 1_050_000;
    private const int AccountRows = 100_000;
    private const int HotKey = AccountRows + 1;
    private const int HotVersions = 10_000;

    private static readonly string Fill = SyntheticChanges.Fill(0, Changes, secondsPerTransaction: 0.1, AccountRows, orderRows: 150_000, deleteVersion: 2);

    // The account changed 10,000 times, after the fill (its own transactions, commit LSNs past the fill's).
    private static readonly string HotFill =
        $$"""
        INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, before, after, context,
                                       committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
        SELECT 'app', 'app', 'public', 'accounts', '{{HotKey}}', CASE WHEN v = 0 THEN 'CREATE' ELSE 'UPDATE' END,
               CASE WHEN v = 0 THEN '{}'::jsonb ELSE img({{HotKey}}, v - 1) END, img({{HotKey}}, v), '{}'::jsonb,
               timestamptz '2026-02-01Z' + v * interval '10 seconds', 5000000 + v, (5000000 + v)::bigint * 100, (5000000 + v)::bigint * 1000, 1,
               timestamptz '2026-02-01Z' + v * interval '10 seconds'
        FROM generate_series(0, {{HotVersions}}::bigint) v
        """;

    public async Task<string> RunAsync()
    {
        await server.CreateDatabaseAsync(Db);
        await using var ds = server.DataSource(Db);
        await StoreMigrations.ApplyAsync(ds);
        var sw = Stopwatch.StartNew();
        // The tracked table's shape (empty: the rows come from the trail; jsonb_populate_record takes the table's row type).
        await BenchServer.ExecAsync(ds,
            "CREATE TABLE accounts (id bigint PRIMARY KEY, name text, email text, balance numeric, status text, version bigint, note text)");
        await BenchServer.ExecAsync(ds, SyntheticChanges.ImageFunction);
        await BenchServer.ExecAsync(ds, "SET maintenance_work_mem = '256MB'; SET work_mem = '64MB';\n" + Fill);
        await BenchServer.ExecAsync(ds, HotFill);
        await BenchServer.ExecAsync(ds, "VACUUM ANALYZE hindsight.changes");
        var stored = await server.ScalarAsync<long>(ds, "SELECT count(*) FROM hindsight.changes");
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"store: {stored:N0} synthetic changes in the queried database, filled by SQL in {sw.Elapsed.TotalSeconds:0} s; VACUUM ANALYZEd; EF Core {typeof(DbContext).Assembly.GetName().Version}, Npgsql provider\n\n");

        // Each compilation of a LINQ query is counted: the moment and the key are parameters, so the loops below should
        // compile each query shape once.
        var compilations = 0;
        var options = new DbContextOptionsBuilder<AccountsDb>().UseNpgsql(server.ConnectionString(Db))
            .UseHindsightTemporal(o => o.Source = "app")
            .LogTo(_ => Interlocked.Increment(ref compilations), [Microsoft.EntityFrameworkCore.Diagnostics.CoreEventId.QueryCompilationStarting])
            .Options;
        await using var db = new AccountsDb(options);
        // The same with Npgsql's automatic preparation (Max Auto Prepare): the server keeps the statement's plan.
        await using var prepared = new AccountsDb(new DbContextOptionsBuilder<AccountsDb>()
            .UseNpgsql(server.ConnectionString(Db) + ";Max Auto Prepare=20").UseHindsightTemporal(o => o.Source = "app").Options);
        var table = new TextTable("temporal query", "measured", "target", "met");
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var span = TimeSpan.FromMilliseconds(Changes / 3 * 100.0);

        // 1. One row as of a moment, by key: 1,000 random keys at three moments (the compiled query is reused: the
        //    moment and the key are parameters). Twice: as EF Core and Npgsql come, and prepared.
        var random = new Random(42);
        var moments = new[] { 0.2, 0.5, 1.0 }.Select(f => start + span * f).ToArray();
        double Pct(List<double> xs, double p) => xs[(int)Math.Ceiling(p * xs.Count) - 1];
        async Task<(List<double> Times, int Found)> PointQueriesAsync(AccountsDb context)
        {
            for (var i = 0; i < 50; i++)
            {
                var warm = (long)random.Next(1, AccountRows + 1);
                await context.Accounts.TemporalAsOf(moments[i % 3]).Where(a => a.Id == warm).ToListAsync();
            }
            var times = new List<double>();
            var hits = 0;
            for (var i = 0; i < 1000; i++)
            {
                var at = moments[i % 3];
                var key = (long)random.Next(1, AccountRows + 1);
                sw.Restart();
                hits += (await context.Accounts.TemporalAsOf(at).Where(a => a.Id == key).ToListAsync()).Count;
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return (times, hits);
        }
        var (point, found) = await PointQueriesAsync(db);
        var pointCompilations = compilations;
        table.Add($"TemporalAsOf(t).Where(a => a.Id == k) p50 (1,000 random keys at 3 moments, {found:N0} found; LINQ compiled {pointCompilations} time(s))",
            $"{Pct(point, 0.5):0.00} ms", "", "");
        table.Add("TemporalAsOf(t).Where(a => a.Id == k) p99", $"{Pct(point, 0.99):0.00} ms", "<= 5 ms", Pct(point, 0.99) <= 5 ? "met" : "NOT met");
        Scorecard.Add("temporal: TemporalAsOf(t).Where(key = k) p99", FormattableString.Invariant($"{Pct(point, 0.99):0.00} ms"), "<= 5 ms", Pct(point, 0.99) <= 5);
        var (preparedPoint, _) = await PointQueriesAsync(prepared);
        table.Add($"  the same with Max Auto Prepare=20: p50 {Pct(preparedPoint, 0.5):0.00} ms, p99", $"{Pct(preparedPoint, 0.99):0.00} ms", "<= 5 ms",
            Pct(preparedPoint, 0.99) <= 5 ? "met" : "NOT met");

        // 2. The whole 100,000-row table as of moments, materialized by EF Core; the query library's as-of of the same
        //    table at the same moment in the same run as the baseline.
        var trail = new AuditTrail(ds);
        var slowest = 0.0;
        foreach (var at in moments)
        {
            sw.Restart();
            var rows = await db.Accounts.TemporalAsOf(at).ToListAsync();
            var ms = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var library = await trail.AsOfAsync(TableName.Parse("accounts"), new DateTimeOffset(at), source: "app");
            var libraryMs = sw.Elapsed.TotalMilliseconds;
            slowest = Math.Max(slowest, ms);
            table.Add($"TemporalAsOf({at:yyyy-MM-dd HH:mm}) of accounts, {rows.Count:N0} rows (query library: {library.Rows.Count:N0} rows in {libraryMs:0} ms)",
                $"{ms:0} ms", "<= 2,000 ms", ms <= 2000 ? "met" : "NOT met");
        }
        Scorecard.Add("temporal: TemporalAsOf(t) of a 100,000-row table, slowest of 3", FormattableString.Invariant($"{slowest:0} ms"), "<= 2,000 ms", slowest <= 2000);

        // 3. Every version of the row changed 10,000 times (as EF Core and Npgsql come, then with automatic preparation).
        async Task<(double Median, double Slowest, int Versions)> AllVersionsAsync(AccountsDb context)
        {
            var times = new List<double>();
            var n = 0;
            for (var i = 0; i < 12; i++)
            {
                sw.Restart();
                n = (await context.Accounts.TemporalAll().Where(a => a.Id == HotKey).ToListAsync()).Count;
                if (i >= 2) times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return (Pct(times, 0.5), times[^1], n);
        }
        var (median, slowestAll, versions) = await AllVersionsAsync(db);
        table.Add($"TemporalAll().Where(a => a.Id == k), {versions:N0} versions, median of 10 (slowest {slowestAll:0.0} ms)", $"{median:0.0} ms", "<= 50 ms",
            median <= 50 ? "met" : "NOT met");
        Scorecard.Add("temporal: TemporalAll().Where(key = k) of a row changed 10,000 times, median of 10", FormattableString.Invariant($"{median:0.0} ms"), "<= 50 ms",
            median <= 50);
        var (preparedMedian, preparedSlowest, _) = await AllVersionsAsync(prepared);
        table.Add($"  the same with Max Auto Prepare=20 (slowest {preparedSlowest:0.0} ms)", $"{preparedMedian:0.0} ms", "<= 50 ms",
            preparedMedian <= 50 ? "met" : "NOT met");
        // Where the time goes: the same SQL read by plain Npgsql (no entities made), and the server's own execution time.
        var allSql = db.Accounts.TemporalAll().Where(a => a.Id == HotKey).ToQueryString();
        var raw = new List<double>();
        for (var i = 0; i < 12; i++)
        {
            sw.Restart();
            await using var cmd = ds.CreateCommand(Inline(allSql));
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) { }
            if (i >= 2) raw.Add(sw.Elapsed.TotalMilliseconds);
        }
        raw.Sort();
        table.Add("  its SQL read by Npgsql alone (rows read, no entities), median of 10", $"{Pct(raw, 0.5):0.0} ms", "", "");

        sb.Append(table).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"\nplan of the point query (EXPLAIN ANALYZE, one key):\n{await PlanAsync(ds, db.Accounts.TemporalAsOf(moments[1]).Where(a => a.Id == 4242).ToQueryString())}\n");
        if (Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_PLANS") == "1")
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nplan of the whole table:\n{await PlanAsync(ds, db.Accounts.TemporalAsOf(moments[1]).ToQueryString(), all: true)}\n");
            sb.Append(CultureInfo.InvariantCulture, $"\nplan of every version of the hot row:\n{await PlanAsync(ds, db.Accounts.TemporalAll().Where(a => a.Id == HotKey).ToQueryString(), all: true)}\n");
        }
        await server.DropDatabaseAsync(Db);
        return sb.ToString();
    }

    // A query's SQL as EF Core sends it (ToQueryString), with its parameters inlined for EXPLAIN.
    private static async Task<string> PlanAsync(Npgsql.NpgsqlDataSource ds, string sql, bool all = false)
    {
        await using var cmd = ds.CreateCommand($"EXPLAIN (ANALYZE, BUFFERS, SUMMARY) {Inline(sql)}");
        var plan = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) plan.Add(r.GetString(0));
        return string.Join('\n', all ? plan : plan.Where(l => l.Contains("Index", StringComparison.Ordinal) || l.Contains("Time:", StringComparison.Ordinal)).Take(14));
    }

    // ToQueryString's SQL with its parameters (listed in comments) written in as literals.
    private static string Inline(string sql)
    {
        var lines = sql.Split('\n');
        var body = string.Join('\n', lines.Where(l => !l.StartsWith("-- @", StringComparison.Ordinal)));
        foreach (var line in lines.Where(l => l.StartsWith("-- @", StringComparison.Ordinal)))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            var name = line[3..eq];
            var value = line[(eq + 1)..].Split(" (", 2)[0];
            body = body.Replace(name, value.StartsWith('\'') ? value : $"'{value}'", StringComparison.Ordinal);
        }
        return body;
    }
}

/// <summary>An account of the synthetic store.</summary>
internal sealed class Account
{
    public long Id { get; set; }
    public string? Name { get; set; }
    public string? Email { get; set; }
    public decimal? Balance { get; set; }
    public string? Status { get; set; }
    public long? Version { get; set; }
    public string? Note { get; set; }
}

/// <summary>The temporal figure's context over table <c>accounts</c>.</summary>
internal sealed class AccountsDb(DbContextOptions<AccountsDb> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();

    protected override void OnModelCreating(ModelBuilder b)
    {
        var a = b.Entity<Account>().ToTable("accounts");
        a.Property(x => x.Id).HasColumnName("id");
        a.Property(x => x.Name).HasColumnName("name");
        a.Property(x => x.Email).HasColumnName("email");
        a.Property(x => x.Balance).HasColumnName("balance");
        a.Property(x => x.Status).HasColumnName("status");
        a.Property(x => x.Version).HasColumnName("version");
        a.Property(x => x.Note).HasColumnName("note");
    }
}
