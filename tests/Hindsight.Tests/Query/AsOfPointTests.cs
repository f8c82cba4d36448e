using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using NpgsqlTypes;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Query;

/// <summary>
/// As-of at a transaction and at an LSN, checked against real copies of the tables taken inside marker transactions,
/// with the marker's xid and WAL positions read from PostgreSQL itself.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class AsOfPointTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Schema =
        """
        CREATE TABLE a (id int PRIMARY KEY, name text, n int);
        CREATE TABLE b (k1 int, k2 text, v numeric, PRIMARY KEY (k1, k2));
        CREATE TABLE markers (n int PRIMARY KEY);
        CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);
        CREATE SCHEMA copies; -- not captured: the harness tracks schema public
        """;

    private static readonly Dictionary<string, string[]> Keys = new() { ["a"] = ["id"], ["b"] = ["k1", "k2"] };

    /// <summary>A marker transaction: its xid, the WAL insert position before its commit and right after it.</summary>
    private sealed record Marker(int N, long Xid, ulong LsnInside, ulong LsnAfter);

    [Fact]
    public async Task As_of_at_a_marker_transaction_and_at_its_commit_lsn_equals_the_copies_taken_inside_it()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        var rnd = new Random(77);
        var markers = new List<Marker>();
        var a = new List<int>();
        var b = new List<(int, string)>();
        var nextA = 1;

        async Task MarkAsync()
        {
            var n = markers.Count;
            await using var conn = await h.Source.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            await using (var copy = new NpgsqlCommand(
                $"CREATE TABLE copies.a_{n} AS SELECT * FROM a; CREATE TABLE copies.b_{n} AS SELECT * FROM b; INSERT INTO markers VALUES ({n});", conn, tx))
                await copy.ExecuteNonQueryAsync();
            // The xid as pgoutput reports it (32 bits), and a WAL position the commit record must come after.
            long xid;
            ulong inside;
            await using (var ids = new NpgsqlCommand("SELECT txid_current() % 4294967296, pg_current_wal_insert_lsn()", conn, tx))
            await using (var r = await ids.ExecuteReaderAsync())
            {
                await r.ReadAsync();
                xid = r.GetInt64(0);
                inside = (ulong)r.GetFieldValue<NpgsqlLogSequenceNumber>(1);
            }
            await tx.CommitAsync();
            // The insert position, not pg_current_wal_lsn(): with synchronous_commit off the commit may not be written yet.
            await using var after = new NpgsqlCommand("SELECT pg_current_wal_insert_lsn()", conn);
            markers.Add(new Marker(n, xid, inside, (ulong)(NpgsqlLogSequenceNumber)(await after.ExecuteScalarAsync())!));
        }

        await MarkAsync();
        for (var round = 0; round < 5; round++)
        {
            for (var t = 0; t < 15; t++)
            {
                var word = new[] { "alpha", "O'Brien", "Zoë 🦄", "" }[rnd.Next(4)];
                if (a.Count == 0 || rnd.Next(3) == 0) { a.Add(nextA); await h.ExecuteAsync("INSERT INTO a VALUES ($1, $2, $3)", nextA++, word, rnd.Next(100)); }
                else if (rnd.Next(3) > 0) await h.ExecuteAsync("UPDATE a SET name = $2, n = n + 1 WHERE id = $1", a[rnd.Next(a.Count)], word);
                else { var k = a[rnd.Next(a.Count)]; a.Remove(k); await h.ExecuteAsync("DELETE FROM a WHERE id = $1", k); }
                var key = (rnd.Next(1, 5), new[] { "x", "y's" }[rnd.Next(2)]);
                if (!b.Contains(key)) { b.Add(key); await h.ExecuteAsync("INSERT INTO b VALUES ($1, $2, $3::numeric)", key.Item1, key.Item2, $"{rnd.Next(100)}.5"); }
                else if (rnd.Next(2) == 0) await h.ExecuteAsync("UPDATE b SET v = v + 1 WHERE k1 = $1 AND k2 = $2", key.Item1, key.Item2);
                else { b.Remove(key); await h.ExecuteAsync("DELETE FROM b WHERE k1 = $1 AND k2 = $2", key.Item1, key.Item2); }
            }
            if (round == 2) { await h.ExecuteAsync("TRUNCATE a"); a.Clear(); await h.ExecuteAsync("INSERT INTO a VALUES (1000, 'after truncate', 1)"); a.Add(1000); }
            await MarkAsync();
        }
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        var nonEmpty = 0;
        foreach (var m in markers)
        {
            var stored = await h.RowsAsync("SELECT transaction_id, commit_lsn, committed_at FROM hindsight.changes WHERE \"table\" = 'markers' AND primary_key = $1", m.N.ToString());
            var (storedXid, commitLsn) = (long.Parse(stored.Single()[0]), ulong.Parse(stored.Single()[1]));
            // The store's record of the marker agrees with PostgreSQL's own view of that transaction.
            Assert.Equal(m.Xid, storedXid);
            Assert.True(m.LsnInside <= commitLsn && commitLsn < m.LsnAfter,
                $"marker {m.N}: commit LSN {commitLsn:X} not between {m.LsnInside:X} (inside) and {m.LsnAfter:X} (after commit)");
            var committedAt = await h.ScalarAsync<DateTime>("SELECT committed_at FROM hindsight.changes WHERE \"table\" = 'markers' AND primary_key = $1", m.N.ToString());

            foreach (var (table, keys) in Keys)
            {
                foreach (var point in new[]
                         {
                             AsOfPoint.AfterTransaction(m.Xid),
                             AsOfPoint.AtLsn(new NpgsqlLogSequenceNumber(commitLsn)),
                             AsOfPoint.AtLsn(new NpgsqlLogSequenceNumber(m.LsnAfter)), // PostgreSQL's position right after the commit
                         })
                {
                    var result = await trail.AsOfAsync(new TableName("public", table), point);
                    Assert.Equal(point, result.Point);
                    Assert.Equal(new DateTimeOffset(committedAt, TimeSpan.Zero), result.At);
                    var differences = await DifferencesAsync(h, $"copies.{table}_{m.N}", keys, result);
                    foreach (var d in differences) output.WriteLine($"{table} at {point} (marker {m.N}): {d}");
                    Assert.Empty(differences);
                    if (result.Rows.Count > 0) nonEmpty++;
                }
            }
            var note = (await trail.AsOfAsync(new TableName(null, "a"), AsOfPoint.AfterTransaction(m.Xid))).PointNote;
            Assert.StartsWith($"as of transaction {m.Xid} (committed {committedAt:yyyy-MM-dd'T'HH:mm:ss}", note);
        }
        Assert.True(nonEmpty >= 20, $"only {nonEmpty} non-empty results: the workload is too small to test anything");

        // One row of the composite-key table at the last marker.
        var last = markers[^1];
        var whole = await trail.AsOfAsync(new TableName(null, "b"), AsOfPoint.AfterTransaction(last.Xid));
        var row = whole.Rows[0];
        var one = await trail.AsOfAsync(new TableName(null, "b"), AsOfPoint.AfterTransaction(last.Xid), row.PrimaryKey);
        Assert.Equal(row.Row.ToJsonString(), Assert.Single(one.Rows).Row.ToJsonString());

        // Points the store cannot place: clear errors, not empty results.
        var unknown = await Assert.ThrowsAsync<AuditQueryException>(() => trail.AsOfAsync(new TableName(null, "a"), AsOfPoint.AfterTransaction(4_000_000_000)));
        Assert.Contains("transaction 4000000000 is not in the store", unknown.Message);
        var early = await Assert.ThrowsAsync<AuditQueryException>(() => trail.AsOfAsync(new TableName(null, "a"), AsOfPoint.AtLsn(new NpgsqlLogSequenceNumber(1))));
        Assert.Contains("tracking began after it", early.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => AsOfPoint.AfterTransaction(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => AsOfPoint.AfterTransaction(1L << 32));
    }

    [Fact]
    public async Task Concurrent_commits_each_transaction_is_split_from_the_next_by_its_commit_lsn()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO counter VALUES (1, 0)");
        // Two writers increment one row as fast as they can: PostgreSQL's RETURNING says which value each transaction
        // left, and the row lock makes commit order the order of those values.
        var written = new System.Collections.Concurrent.ConcurrentBag<(long Xid, int N)>();
        async Task WriterAsync()
        {
            await using var conn = await h.Source.OpenConnectionAsync();
            for (var i = 0; i < 60; i++)
            {
                await using var tx = await conn.BeginTransactionAsync();
                await using var cmd = new NpgsqlCommand("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n, txid_current() % 4294967296", conn, tx);
                await using (var r = await cmd.ExecuteReaderAsync())
                {
                    await r.ReadAsync();
                    written.Add((r.GetInt64(1), r.GetInt32(0)));
                }
                await tx.CommitAsync();
            }
        }
        await Task.WhenAll(WriterAsync(), WriterAsync());
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        var counter = new TableName(null, "counter");
        var timeSplitFailures = 0;
        foreach (var (xid, n) in written.OrderBy(w => w.N))
        {
            var byTransaction = await trail.AsOfAsync(counter, AsOfPoint.AfterTransaction(xid));
            Assert.Equal(n, (int)Assert.Single(byTransaction.Rows).Row["n"]!);
            var byTime = await trail.AsOfAsync(counter, byTransaction.At);
            if ((int)byTime.Rows.Single().Row["n"]! != n) timeSplitFailures++;
        }
        // Commit times in the same microsecond are possible but rare here; the tie case is pinned down below.
        output.WriteLine($"{written.Count} transactions; as-of at their commit time would have shown a later one {timeSplitFailures} times");
    }

    [Fact]
    public async Task Commits_with_the_same_commit_time_are_told_apart_by_lsn_and_the_truncate_barrier_follows_lsn_order()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        // Three commits of one database stamped with the same microsecond, written as the sink writes them: PostgreSQL
        // only ties commit times by chance, so the tie is made here. Commit LSN order: k1 created, TRUNCATE, k2 created.
        await h.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, before, after, committed_at,
                                           transaction_id, position, commit_lsn, ordinal, queued_at)
            VALUES ('tied', 'tied', 'public', 't', '1', 'CREATE', '{}', '{"id": 1}', '2026-01-01T00:00:00.000001Z', 501, 1000, 1000, 1, now()),
                   ('tied', 'tied', 'public', 't', NULL, 'TRUNCATE', '{}', '{}', '2026-01-01T00:00:00.000001Z', 502, 2000, 2000, 1, now()),
                   ('tied', 'tied', 'public', 't', '2', 'CREATE', '{}', '{"id": 2}', '2026-01-01T00:00:00.000001Z', 503, 3000, 3000, 1, now())
            """);
        var trail = new AuditTrail(h.Source);
        var t = new TableName("public", "t");
        async Task<string> KeysAt(AsOfPoint p)
        {
            await AsOfPages.AssertSameAsWholeAsync(trail, t, p, "tied", size: 1); // the page walk keeps the same barrier
            return string.Join(",", (await trail.AsOfAsync(t, p, database: "tied")).Rows.Select(r => r.PrimaryKey));
        }

        Assert.Equal("2", await KeysAt(AsOfPoint.At(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(10)))); // all three: one moment
        Assert.Equal("1", await KeysAt(AsOfPoint.AfterTransaction(501)));
        Assert.Equal("", await KeysAt(AsOfPoint.AfterTransaction(502)));
        Assert.Equal("2", await KeysAt(AsOfPoint.AfterTransaction(503)));
        Assert.Equal("1", await KeysAt(AsOfPoint.AtLsn(new NpgsqlLogSequenceNumber(1999))));
        Assert.Equal("", await KeysAt(AsOfPoint.AtLsn(new NpgsqlLogSequenceNumber(2000))));
        var lsnNote = (await trail.AsOfAsync(t, AsOfPoint.AtLsn(new NpgsqlLogSequenceNumber(2500)), database: "tied")).PointNote;
        Assert.Equal("as of LSN 0/9C4 (the newest stored commit at or before it: 2026-01-01T00:00:00.000001Z)", lsnNote);

        // The same xid in a second database: ambiguous without a database, exact with one.
        await h.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, before, after, committed_at,
                                           transaction_id, position, commit_lsn, ordinal, queued_at)
            VALUES ('other', 'other', 'public', 'u', '1', 'CREATE', '{}', '{"id": 1}', '2026-01-02Z', 501, 9000, 9000, 1, now())
            """);
        var ambiguous = await Assert.ThrowsAsync<AuditQueryException>(() => trail.AsOfAsync(t, AsOfPoint.AfterTransaction(501)));
        Assert.Contains("transaction 501 is ambiguous", ambiguous.Message);
        Assert.Contains("source other", ambiguous.Message);
        Assert.Contains("source tied", ambiguous.Message);
        Assert.Equal("1", await KeysAt(AsOfPoint.AfterTransaction(501)));
        // A transaction confines the read to its own database: table t is not in database other.
        Assert.Empty((await trail.AsOfAsync(t, AsOfPoint.AfterTransaction(501), database: "other")).Rows);
    }

    /// <summary>Rows that differ between a real copy and an as-of result, compared by PostgreSQL (to_jsonb of the copy).</summary>
    private static async Task<List<string>> DifferencesAsync(CaptureHarness h, string copy, string[] keys, AsOfResult result) =>
        (await RowSets.DifferencesAsync(h.Source, $"SELECT to_jsonb(x) AS j FROM {copy} x", result.Rows, keys))
            .Select(d => $"copy {d.Expected} vs as-of {d.Actual}").ToList();
}
