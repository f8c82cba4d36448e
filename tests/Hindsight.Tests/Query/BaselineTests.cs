using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Query;

/// <summary>
/// <c>setup --snapshot</c>: a baseline of the rows that existed before tracking began, checked against PostgreSQL itself
/// (<c>to_jsonb()</c> of copies of the tables, and <c>count(*)</c>), and as-of made complete by it.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class BaselineTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Schema =
        """
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE DOMAIN positive AS int CHECK (VALUE > 0);
        CREATE TABLE wide (
            id int PRIMARY KEY, t text, b bool, ip inet, c5 char(5), n numeric, j jsonb, ts timestamptz, d date,
            iv interval, by bytea, arr int[], tarr text[], f8 float8, u uuid, m mood, p positive,
            g int GENERATED ALWAYS AS (id * 2) STORED);
        CREATE TABLE pair (k1 int, k2 text, v text, PRIMARY KEY (k1, k2));
        CREATE TABLE parted (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
        CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
        CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us');
        CREATE TABLE empty_one (id int PRIMARY KEY, v text);
        CREATE TABLE markers (n int PRIMARY KEY);
        CREATE SCHEMA copies; -- not tracked: the harness tracks schema public
        """;

    private static readonly Dictionary<string, string[]> Keys = new()
    {
        ["wide"] = ["id"], ["pair"] = ["k1", "k2"], ["parted"] = ["id", "region"], ["empty_one"] = ["id"],
    };

    private const string Rows =
        """
        INSERT INTO wide (id, t, b, ip, c5, n, j, ts, d, iv, by, arr, tarr, f8, u, m, p)
        SELECT i,
               CASE i % 4 WHEN 0 THEN E'tab\there\nnew line \\ back\\slash' WHEN 1 THEN 'O''Brien 🦄' WHEN 2 THEN '\N' ELSE NULL END,
               i % 2 = 0, ('10.0.' || i % 250 || '.1')::inet, 'ab', i * 1.50, jsonb_build_object('i', i, 'nested', jsonb_build_array(1, 'x', NULL)),
               '2026-01-02 03:04:05.123456+02'::timestamptz + i * interval '1 hour', DATE '2026-03-01' + i, make_interval(days => i, secs => 1.5),
               decode('00ff' || lpad(to_hex(i), 4, '0'), 'hex'), ARRAY[i, NULL, -i], ARRAY['a b', 'c"d', NULL], i / 3.0, gen_random_uuid(),
               (ARRAY['sad','ok','happy']::mood[])[1 + i % 3], 1 + i
        FROM generate_series(1, 300) i;
        INSERT INTO pair SELECT i % 7, 'k' || i, 'v' || i FROM generate_series(1, 50) i;
        INSERT INTO parted SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i FROM generate_series(1, 40) i;
        """;

    [Fact]
    public async Task Baseline_rows_equal_to_jsonb_of_every_row_and_make_as_of_complete_from_the_slot()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, Schema);
        await h.ExecuteAsync(Rows); // a batch of its own: sent with the CREATE TYPEs in one batch, the INSERT into wide stored nothing
        Assert.Equal(300, await h.ScalarAsync<long>("SELECT count(*) FROM wide"));
        foreach (var table in Keys.Keys) await h.ExecuteAsync($"CREATE TABLE copies.{table}_base AS SELECT * FROM {table}");

        var report = await h.SetupAsync(o => Snapshot(o));
        var baseline = Assert.IsType<BaselineReport>(report.Baseline);
        Assert.True(baseline.Created);
        Assert.Contains("baseline     taken now", report.ToText());

        // Counts against PostgreSQL's own count(*), per table and in the store; the partitioned table under its root.
        foreach (var table in Keys.Keys)
        {
            var expected = await h.ScalarAsync<long>($"SELECT count(*) FROM {table}");
            Assert.Equal(expected, Assert.Single(baseline.Tables, t => t.Table == table).Rows);
            Assert.Equal(expected, await h.ScalarAsync<long>(
                "SELECT count(*) FROM hindsight.changes WHERE operation = 'SNAPSHOT' AND \"table\" = $1", table));
        }
        Assert.DoesNotContain(baseline.Tables, t => t.Table.StartsWith("parted_", StringComparison.Ordinal));
        // Fidelity: each SNAPSHOT image is to_jsonb() of the row (the generated column is not published, as in capture).
        foreach (var (table, keys) in Keys)
            await AssertSameRowsAsync(h, $"SELECT to_jsonb(x) - 'g' AS j FROM copies.{table}_base x",
                $"SELECT after AS j FROM hindsight.changes WHERE operation = 'SNAPSHOT' AND \"table\" = '{table}'", keys, $"{table} baseline");
        // Keys are stored as capture stores them: the text of a one-column key, a JSON array for a composite one.
        Assert.Equal(0, await h.ScalarAsync<long>(
            "SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'wide' AND primary_key <> (after->>'id')"));
        Assert.Equal(0, await h.ScalarAsync<long>(
            "SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'pair' AND primary_key::jsonb <> jsonb_build_array(after->'k1', after->'k2')"));

        // Changes after the baseline: some baseline rows updated or deleted, most never touched again.
        h.StartWorker();
        await h.ExecuteAsync("UPDATE wide SET t = 'changed', n = n + 1 WHERE id % 10 = 0");
        await h.ExecuteAsync("DELETE FROM wide WHERE id % 25 = 1");
        await h.ExecuteAsync("INSERT INTO wide (id, t) VALUES (1001, 'new')");
        await h.ExecuteAsync("UPDATE pair SET v = 'touched' WHERE k1 = 3");
        await h.ExecuteAsync("DELETE FROM parted WHERE id < 5");
        await h.ExecuteAsync("INSERT INTO empty_one VALUES (1, 'first')");
        await h.ExecuteAsync(
            """
            BEGIN;
            CREATE TABLE copies.wide_1 AS SELECT * FROM wide;
            CREATE TABLE copies.pair_1 AS SELECT * FROM pair;
            CREATE TABLE copies.parted_1 AS SELECT * FROM parted;
            CREATE TABLE copies.empty_one_1 AS SELECT * FROM empty_one;
            INSERT INTO markers VALUES (1);
            COMMIT;
            """);
        await h.ExecuteAsync("UPDATE wide SET t = 'later' WHERE id < 50");
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        var marker = await h.ScalarAsync<DateTime>("SELECT committed_at FROM hindsight.changes WHERE \"table\" = 'markers'");
        foreach (var (table, keys) in Keys)
        {
            var asOf = await trail.AsOfAsync(new TableName("public", table), new DateTimeOffset(marker, TimeSpan.Zero));
            Assert.True(asOf.Complete, $"{table}: {asOf.CompletenessNote}");
            await AssertSameRowsAsync(h, $"SELECT to_jsonb(x) - 'g' AS j FROM copies.{table}_1 x", asOf.Rows, keys, $"{table} as of the marker");
            // The same state named by the marker's transaction (counted in commit LSN order).
            var xid = await h.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE \"table\" = 'markers'");
            var byTransaction = await trail.AsOfAsync(new TableName("public", table), AsOfPoint.AfterTransaction(xid));
            Assert.True(byTransaction.Complete, $"{table}: {byTransaction.CompletenessNote}");
            await AssertSameRowsAsync(h, $"SELECT to_jsonb(x) - 'g' AS j FROM copies.{table}_1 x", byTransaction.Rows, keys, $"{table} as of the marker's transaction");
            // At the baseline's own moment: exactly the rows copied before setup.
            var atBaseline = await trail.AsOfAsync(new TableName("public", table), baseline.TakenAt);
            Assert.True(atBaseline.Complete);
            await AssertSameRowsAsync(h, $"SELECT to_jsonb(x) - 'g' AS j FROM copies.{table}_base x", atBaseline.Rows, keys, $"{table} at the baseline");
            // Read page by page, the baseline is the same barrier.
            await AsOfPages.AssertSameAsWholeAsync(trail, new TableName("public", table), AsOfPoint.At(baseline.TakenAt), size: 7);
            await AsOfPages.AssertSameAsWholeAsync(trail, new TableName("public", table), AsOfPoint.AfterTransaction(xid), size: 7);
        }
        // Before the baseline nothing is known, and the result says so.
        var before = await trail.AsOfAsync(new TableName("public", "wide"), baseline.TakenAt.AddSeconds(-1));
        Assert.False(before.Complete);
        Assert.Empty(before.Rows);

        // History of an untouched row starts at its SNAPSHOT version; a changed one continues from it.
        var history = await trail.HistoryAsync(new TableName("public", "wide"), "10");
        Assert.Equal(["SNAPSHOT", "UPDATE", "UPDATE"], history.Versions.Select(v => v.Change.Operation.ToStored()).ToArray());
        Assert.Equal("changed", history.Versions[1].Row!["t"]!.GetValue<string>());
    }

    [Fact]
    public async Task Baseline_and_stream_meet_exactly_while_the_tables_are_written_during_setup()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture,
            "CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counters SELECT i, 0 FROM generate_series(1, 200) i;");
        using var stop = new CancellationTokenSource();
        var written = 0;
        // Writers commit all through setup: increments, and rows coming and going. A transaction counted in both the
        // baseline and the stream (or in neither) leaves a counter off by one, or a row wrongly present or missing.
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            var rnd = new Random(w);
            await using var conn = await h.Source.OpenConnectionAsync();
            while (!stop.IsCancellationRequested)
            {
                var id = rnd.Next(1, 400);
                await using var cmd = new NpgsqlCommand(
                    rnd.Next(4) == 0
                        ? "DELETE FROM counters WHERE id = $1"
                        : "INSERT INTO counters VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = counters.n + 1", conn);
                cmd.Parameters.AddWithValue(id);
                await cmd.ExecuteNonQueryAsync();
                Interlocked.Increment(ref written);
            }
        })).ToList();
        while (Volatile.Read(ref written) < 200) await Task.Delay(10);
        var report = await h.SetupAsync(o => Snapshot(o));
        var atSetup = Volatile.Read(ref written);
        while (Volatile.Read(ref written) < atSetup + 500) await Task.Delay(10);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        output.WriteLine($"{written} writes; baseline {report.Baseline!.Rows} rows at {report.Baseline.Lsn}");
        Assert.True(report.Baseline.Rows > 0);

        h.StartWorker();
        await h.CatchUpAsync();
        var asOf = await new AuditTrail(h.Source).AsOfAsync(new TableName(null, "counters"), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.True(asOf.Complete);
        await AssertSameRowsAsync(h, "SELECT to_jsonb(x) AS j FROM counters x", asOf.Rows, ["id"], "counters now");
        // Some writes were streamed, not only baselined: the test saw the two meet.
        Assert.True(await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE operation <> 'SNAPSHOT'") > 100);
    }

    [Fact]
    public async Task Setup_snapshot_is_idempotent_refuses_an_existing_slot_and_bad_rules_and_teardown_purges_it()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture,
            "CREATE TABLE secrets (id int PRIMARY KEY, token text, note text); INSERT INTO secrets VALUES (1, 'hunter2', 'a'), (2, 'swordfish', 'b');");

        var bad = await Assert.ThrowsAsync<SetupException>(() => h.SetupAsync(o => Snapshot(o, redact: ["token"])));
        Assert.Contains("not a column pattern", bad.Message);
        var without = await Assert.ThrowsAsync<SetupException>(() => h.SetupAsync(o => Snapshot(o, snapshot: false, redact: ["secrets.token"])));
        Assert.Contains("only with --snapshot", without.Message);
        Assert.Equal(0, await h.ScalarAsync<long>("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", h.Slot));

        var first = await h.SetupAsync(o => Snapshot(o, redact: ["secrets.token"]));
        Assert.Equal(2, first.Baseline!.Rows);
        // Redacted as the worker redacts: the digest of the value, never the value; the same digest the stream stores.
        Assert.Equal(0, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE after::text LIKE '%hunter2%' OR after::text LIKE '%swordfish%'"));
        h.StartWorker(h.Options(o => new()
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, RedactColumns = ["secrets.token"],
        }));
        await h.ExecuteAsync("UPDATE secrets SET note = 'changed' WHERE id = 1");
        await h.CatchUpAsync();
        Assert.Equal(1, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM hindsight.changes s JOIN hindsight.changes u ON u.primary_key = s.primary_key
            WHERE s.operation = 'SNAPSHOT' AND u.operation = 'UPDATE' AND s.after->'token' = u.before->'token' AND u.before->>'token' LIKE 'redacted:%'
            """));

        var again = await h.SetupAsync(o => Snapshot(o));
        Assert.False(again.Baseline!.Created);
        Assert.Equal(first.Baseline.Lsn, again.Baseline.Lsn);
        Assert.Contains("stored earlier", again.ToText());
        await h.StopWorkerAsync();

        // A slot created without a baseline cannot get one later: refused, and nothing changes.
        await new TeardownRunner(new TeardownOptions { SourceConnectionString = h.ConnectionString, Slot = h.Slot, Publication = h.Slot }).RunAsync();
        await h.SetupAsync();
        var stored = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");
        var refused = await Assert.ThrowsAsync<SetupException>(() => h.SetupAsync(o => Snapshot(o)));
        Assert.Contains("already exists and no baseline was stored with it", refused.Message);
        Assert.Equal(stored, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));

        await new TeardownRunner(new TeardownOptions { SourceConnectionString = h.ConnectionString, Slot = h.Slot, Publication = h.Slot, Purge = true }).RunAsync();
        Assert.Equal(0, await h.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'hindsight'"));
    }

    [Fact]
    public async Task Setup_snapshot_from_the_shell_reports_the_baseline_and_as_of_says_complete()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture,
            "CREATE TABLE orders (id int PRIMARY KEY, status text); INSERT INTO orders VALUES (1, 'old'), (2, 'older');");
        var src = h.ConnectionString;
        var setup = await CliAsync("setup", "--source", src, "--slot", h.Slot, "--publication", h.Slot, "--snapshot");
        Assert.True(setup.ExitCode == 0, setup.Err);
        Assert.Contains("baseline     taken now: 2 rows of 1 table", setup.Out);
        Assert.Contains("baseline 2 rows", setup.Out);
        var json = await CliAsync("setup", "--source", src, "--slot", h.Slot, "--publication", h.Slot, "--snapshot", "--format", "json");
        Assert.Contains("\"created\": false", json.Out);

        var asOf = await CliAsync("as-of", "--source", src, "--table", "orders", "--at", DateTime.UtcNow.AddMinutes(1).ToString("O"));
        Assert.Equal(0, asOf.ExitCode);
        Assert.Contains("older", asOf.Out);
        Assert.Contains("2 rows; complete: a baseline", asOf.Out);

        var bad = await CliAsync("setup", "--source", src, "--slot", h.Slot, "--publication", h.Slot, "--redact-columns", "orders.status");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("only with --snapshot", bad.Err);
    }

    private sealed record CliResult(int ExitCode, string Out, string Err);

    private static async Task<CliResult> CliAsync(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await Hindsight.Cli.HindsightCli.RunAsync(args, Hindsight.Cli.CliEnvironment.Captured(o, e));
        return new CliResult(code, o.ToString(), e.ToString());
    }

    private static SetupOptions Snapshot(SetupOptions o, bool snapshot = true, IReadOnlyList<string>? redact = null) => new()
    {
        SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas,
        Snapshot = snapshot, RedactColumns = redact ?? [],
    };

    private Task AssertSameRowsAsync(CaptureHarness h, string expectedSql, IReadOnlyList<AsOfRow> rows, string[] keys, string what) =>
        AssertSameRowsAsync(h, expectedSql, RowSets.Images, keys, what, rows.Select(r => r.Row.ToJsonString()).ToArray());

    /// <summary>Compares two sets of row images inside PostgreSQL (jsonb equality), joined on the key columns.</summary>
    private async Task AssertSameRowsAsync(CaptureHarness h, string expectedSql, string actualSql, string[] keys, string what, string[]? images = null)
    {
        var differences = (await RowSets.DifferencesAsync(h.Source, expectedSql, actualSql, keys, images))
            .Select(d => $"{what}: expected {d.Expected} vs stored {d.Actual}").ToList();
        foreach (var d in differences.Take(20)) output.WriteLine(d);
        Assert.Empty(differences);
    }
}
