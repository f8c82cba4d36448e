using System.Globalization;
using Hindsight.Embedded;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Hindsight.Worker;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Store;

/// <summary>
/// A transaction that begins before midnight on the last day of a month and commits after it is stored once, whole, in
/// the partition of its commit time, and one that commits just before midnight in the month before. The server's clock is
/// moved to a few seconds before 2027-01-01 00:00 UTC with libfaketime (preloaded into a private server of its own), and
/// PostgreSQL's own record of each transaction's commit time (<c>track_commit_timestamp</c>) is what the stored
/// <c>committed_at</c> and the partition bounds are checked against.
/// </summary>
[Trait("Category", "PostgreSQL")]
public sealed class PartitionBoundaryTests(ITestOutputHelper output)
{
    private const string FakeTimeLibrary = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    private static readonly DateTime Midnight = new(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task A_transaction_committed_across_midnight_of_the_last_day_is_stored_once_in_the_partition_of_its_commit()
    {
        Assert.True(File.Exists(FakeTimeLibrary), $"this test moves the server's clock with libfaketime ({FakeTimeLibrary}; Debian: apt-get install libfaketime)");
        var clockFile = Path.Combine(Directory.CreateTempSubdirectory("hindsight-clock-").FullName, "faketime");
        await File.WriteAllTextAsync(clockFile, "+0");
        if (!OperatingSystem.IsWindows()) // the server runs as another user when the tests run as root: it must read the file
        {
            File.SetUnixFileMode(clockFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.SetUnixFileMode(Path.GetDirectoryName(clockFile)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                                                 UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        await using var server = await PrivatePostgresServer.StartAsync(
            new Dictionary<string, string> { ["track_commit_timestamp"] = "on" },
            new Dictionary<string, string>
            {
                ["LD_PRELOAD"] = FakeTimeLibrary,
                ["FAKETIME_TIMESTAMP_FILE"] = clockFile,
                ["FAKETIME_CACHE_DURATION"] = "1",
                ["FAKETIME_DONT_FAKE_MONOTONIC"] = "1",
            });
        await using (var admin = new NpgsqlConnection(server.ConnectionString()))
        {
            await admin.OpenAsync();
            await new NpgsqlCommand("CREATE DATABASE shop", admin).ExecuteNonQueryAsync();
        }
        var cs = server.ConnectionString("shop");
        await using var db = NpgsqlDataSource.Create(cs);
        await ExecAsync(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
        await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = "hindsight", Publication = "hindsight", Tables = ["t"] }).RunAsync();

        // The server's clock to a few seconds before midnight; again, with rows of their own, if a slow machine let it pass
        // midnight too soon (the clock is set back for the next try).
        DateTime before = default, spanningBegan = default;
        var attempt = 0;
        while (true)
        {
            Assert.True(++attempt <= 5, "could not place a commit before midnight on the server's clock in 5 tries");
            var offset = (long)Math.Round((Midnight.AddSeconds(-4) - DateTime.UtcNow).TotalSeconds);
            await File.WriteAllTextAsync(clockFile, offset.ToString("+0;-0", CultureInfo.InvariantCulture));
            await Task.Delay(1200); // libfaketime reads the file again after its one-second cache
            if (await ServerNowAsync(db) >= Midnight.AddSeconds(-2.5)) continue;

            var first = attempt * 10_000;
            await ExecAsync(db, $"INSERT INTO t VALUES ({first + 1}, 'before midnight')");
            before = await CommitTimeAsync(db, first + 1);
            await using var conn = await db.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            spanningBegan = await ScalarAsync<DateTime>(conn, tx, "SELECT clock_timestamp()");
            if (before >= Midnight || spanningBegan >= Midnight) continue; // rolled back when disposed
            await ExecAsync(conn, tx,
                $"INSERT INTO t SELECT g, 'across midnight' FROM generate_series({first + 2}, {first + 1001}) g; UPDATE t SET v = 'updated across' WHERE id = {first + 1}");
            while (await ServerNowAsync(db) < Midnight.AddMilliseconds(200)) await Task.Delay(100);
            await tx.CommitAsync();
            await ExecAsync(db, $"INSERT INTO t VALUES ({first + 5000}, 'after midnight')");
            break;
        }
        var mine = $"(coalesce(after, before)->>'id')::int / 10000 = {attempt}";

        var worker = new CaptureWorker(new CaptureOptions { SourceConnectionString = cs, Slot = "hindsight", Publication = "hindsight" });
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        try { await CatchUp.WaitAsync(db, db, "hindsight", TimeSpan.FromSeconds(60)); }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
        // Had the partitions not been made ahead (a run long after these dates), the worker makes them; once more here,
        // in case it stored these changes after its look at the start.
        await ExecAsync(db, "SELECT hindsight.maintain_change_partitions()");

        // PostgreSQL's own commit time of the transaction that wrote each row, against what the store holds.
        var spanning = await CommitTimeAsync(db, attempt * 10_000 + 2);
        output.WriteLine($"try {attempt}: first commit {before:HH:mm:ss.ffffff}, the spanning transaction began {spanningBegan:HH:mm:ss.ffffff} " +
                         $"and committed {spanning:yyyy-MM-dd HH:mm:ss.ffffff} (server clock, UTC)");
        Assert.True(before < Midnight && spanningBegan < Midnight && spanning >= Midnight);

        Assert.Equal(1003L, await ScalarAsync<long>(db, $"SELECT count(*) FROM hindsight.changes WHERE {mine}"));
        Assert.Equal(await ScalarAsync<long>(db, "SELECT count(*) FROM hindsight.changes"),
            await ScalarAsync<long>(db, "SELECT count(DISTINCT (source, commit_lsn, ordinal)) FROM hindsight.changes"));
        Assert.Equal(1L, await ScalarAsync<long>(db,
            $"SELECT count(*) FROM hindsight.changes WHERE {mine} AND committed_at = '{Iso(before)}' AND tableoid = 'hindsight.changes_p20261201'::regclass"));
        Assert.Equal(1001L, await ScalarAsync<long>(db,
            $"SELECT count(*) FROM hindsight.changes WHERE {mine} AND committed_at = '{Iso(spanning)}' AND tableoid = 'hindsight.changes_p20270101'::regclass"));
        Assert.Equal(1L, await ScalarAsync<long>(db,
            $"SELECT count(*) FROM hindsight.changes WHERE {mine} AND committed_at > '{Iso(spanning)}' AND tableoid = 'hindsight.changes_p20270101'::regclass"));
        Assert.Equal(0L, await ScalarAsync<long>(db,
            """
            SELECT count(*) FROM hindsight.changes c
            LEFT JOIN hindsight.change_partitions() p ON p.partition = c.tableoid
            WHERE p.partition IS NULL OR NOT (p.lower <= c.committed_at AND c.committed_at < p.upper)
            """));
        // Each stored insert carries the commit time PostgreSQL recorded for the row's transaction.
        Assert.Equal(1001L, await ScalarAsync<long>(db,
            $"""
            SELECT count(*) FROM hindsight.changes c JOIN t ON c.primary_key = t.id::text
            WHERE c.operation = 'CREATE' AND t.id / 10000 = {attempt} AND t.id % 10000 > 1 AND c.committed_at = pg_xact_commit_timestamp(t.xmin)
            """));
    }

    private static string Iso(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss.ffffff+00", CultureInfo.InvariantCulture);

    private static Task<DateTime> ServerNowAsync(NpgsqlDataSource db) => ScalarAsync<DateTime>(db, "SELECT clock_timestamp()");

    private static Task<DateTime> CommitTimeAsync(NpgsqlDataSource db, int id) =>
        ScalarAsync<DateTime>(db, $"SELECT pg_xact_commit_timestamp(xmin) FROM t WHERE id = {id}");

    private static async Task ExecAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task ExecAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, NpgsqlTransaction tx, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
