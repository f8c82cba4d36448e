using Hindsight.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Worker;

/// <summary>
/// Small source transactions that share one store commit (group commit, one-trip commits): still stored exactly once,
/// in order, with images equal to PostgreSQL's own, including images the worker has to take from rows that share the
/// store transaction but are not written yet.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class GroupCommitTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)] // REPLICA IDENTITY DEFAULT: every before-image and unchanged TOAST value comes from the last image
    [InlineData(true)]
    public async Task A_backlog_of_small_transactions_shares_store_commits_and_matches_the_oracle(bool replicaIdentityFull)
    {
        await using var h = await CaptureHarness.CreateAsync(fixture,
            Oracle.Install + "CREATE TABLE docs (id int PRIMARY KEY, title text, body text);" + Oracle.Attach("docs"),
            replicaIdentityFull);
        // Written before the worker starts, so that they arrive together and share store transactions.
        const int rounds = 40;
        for (var i = 0; i < rounds; i++)
        {
            var id = i % 7;
            // A random body does not compress, so it is stored out of line (TOAST) and not resent by updates of title.
            await h.ExecuteAsync($"INSERT INTO docs SELECT {id}, 't', string_agg(md5(random()::text), '') FROM generate_series(1, 300) " +
                                 "ON CONFLICT (id) DO UPDATE SET title = excluded.title || '+'");
            await h.ExecuteAsync($"UPDATE docs SET title = title || '{i}' WHERE id = {id}");
            await h.ExecuteAsync($"BEGIN; UPDATE docs SET title = title || 'a' WHERE id = {id}; UPDATE docs SET title = title || 'b' WHERE id = {id}; COMMIT;");
            if (i % 5 == 4) await h.ExecuteAsync($"DELETE FROM docs WHERE id = {id}");
        }
        h.StartWorker(h.Options(o => new()
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication,
            CommitInterval = TimeSpan.FromMilliseconds(200),
        }));
        await h.CatchUpAsync();

        Assert.Equal(0L, await h.ScalarAsync<long>(
            "SELECT count(*) FROM hindsight.changes WHERE after::text LIKE '%unchanged-toast%' OR before::text LIKE '%unchanged-toast%'"));
        var mismatches = await h.RowsAsync(Oracle.Mismatches, "docs");
        foreach (var m in mismatches)
            output.WriteLine($"#{m[0]} op {m[1]} vs {m[2]}\n  before {m[3]}\n  oracle {m[4]}\n  after  {m[5]}\n  oracle {m[6]}");
        Assert.Empty(mismatches);

        // Counted by PostgreSQL: source transactions in the oracle's log, store transactions by the rows' xmin.
        var sourceTransactions = await h.ScalarAsync<long>("SELECT count(DISTINCT xid) FROM oracle.log WHERE tbl = 'docs'");
        var storeTransactions = await h.ScalarAsync<long>("SELECT count(DISTINCT xmin::text) FROM hindsight.changes WHERE \"table\" = 'docs'");
        output.WriteLine($"{sourceTransactions} source transactions in {storeTransactions} store transactions");
        Assert.True(storeTransactions < sourceTransactions / 4, $"{sourceTransactions} source transactions took {storeTransactions} store transactions");
    }

    [Fact]
    public async Task A_store_transaction_too_large_for_one_trip_goes_by_copy_and_is_stored_once()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture,
            Oracle.Install + "CREATE TABLE items (id int PRIMARY KEY, v int);" + Oracle.Attach("items"));
        // 300 one-row transactions and a 600-row one, waiting before the worker starts: more rows than a one-trip commit holds.
        for (var i = 0; i < 300; i++) await h.ExecuteAsync($"INSERT INTO items VALUES ({i}, 0)");
        await h.ExecuteAsync("INSERT INTO items SELECT g, 1 FROM generate_series(1000, 1599) g");
        await h.ExecuteAsync("UPDATE items SET v = v + 1 WHERE id < 10");
        h.StartWorker();
        await h.CatchUpAsync();

        Assert.Empty(await h.RowsAsync(Oracle.Mismatches, "items"));
        Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) FROM oracle.log WHERE tbl = 'items'"),
            await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'items'"));
    }

    [Fact]
    public async Task A_busy_stream_is_read_in_pauses_and_still_stored_whole_and_in_order()
    {
        // Commits whenever the reader waits for the source: without pauses, nearly every source transaction of a
        // stream written a few milliseconds apart gets its own store commit. With a pause of 20 ms after each brief wait, the
        // reader takes what arrived meanwhile in one go, so the store commits far fewer times. The oracle (a trigger
        // writing to_jsonb in the same transactions) says whether anything was lost, doubled or misattributed.
        async Task<(long Source, long Store)> RunAsync(TimeSpan pause)
        {
            await using var h = await CaptureHarness.CreateAsync(fixture,
                Oracle.Install + "CREATE TABLE ticks (id int PRIMARY KEY, n int NOT NULL, note text);" + Oracle.Attach("ticks"));
            h.StartWorker(h.Options(o => new()
            {
                SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication,
                CommitInterval = TimeSpan.Zero, ReadPause = pause,
            }));
            await h.ExecuteAsync("INSERT INTO ticks VALUES (100, 0, 'first')");
            await h.CatchUpAsync(); // the worker is reading live, not a backlog, before the stream starts
            for (var i = 0; i < 150; i++)
            {
                var id = i % 11;
                // synchronous_commit on (the test server's default is off): the walsender sends a transaction once its
                // WAL is flushed, so with asynchronous commits it would arrive in the WAL writer's bursts.
                await h.ExecuteAsync("BEGIN; SET LOCAL synchronous_commit = on; " + (i % 3 == 0
                    ? $"INSERT INTO ticks VALUES ({id}, {i}, 'n{i}') ON CONFLICT (id) DO UPDATE SET n = excluded.n, note = excluded.note;"
                    : $"UPDATE ticks SET n = n + 1 WHERE id = {id}; UPDATE ticks SET note = 'u{i}' WHERE id = {(id + 1) % 11};") + " COMMIT;");
                await Task.Delay(3); // slower than the worker: without pauses, it waits for nearly every transaction
            }
            await h.CatchUpAsync();
            Assert.Empty(await h.RowsAsync(Oracle.Mismatches, "ticks"));
            Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) FROM oracle.log WHERE tbl = 'ticks'"),
                await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'ticks'"));
            return (await h.ScalarAsync<long>("SELECT count(DISTINCT xid) FROM oracle.log WHERE tbl = 'ticks'"),
                await h.ScalarAsync<long>("SELECT count(DISTINCT xmin::text) FROM hindsight.changes WHERE \"table\" = 'ticks'"));
        }

        var unpaced = await RunAsync(TimeSpan.Zero);
        var paced = await RunAsync(TimeSpan.FromMilliseconds(20));
        output.WriteLine($"without pauses: {unpaced.Source} source transactions in {unpaced.Store} store transactions; " +
                         $"with 20 ms pauses: {paced.Source} in {paced.Store}");
        Assert.True(paced.Store * 2 <= unpaced.Store, $"pauses: {paced.Store} store transactions, without: {unpaced.Store}");
    }
}
