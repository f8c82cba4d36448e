using Hindsight.Queue;
using Hindsight.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Queue;

/// <summary>
/// The scale path end to end, in process, against real servers: capture publishes to JetStream, two ingesters store,
/// and the store holds every change PostgreSQL committed exactly once, with images equal to <c>to_jsonb()</c> as the
/// oracle trigger recorded them, including the images only a previous one can complete.
/// </summary>
[Trait("Category", "PostgreSQL")]
[Collection(PostgresCollection.Name)]
public sealed class QueuePathTests(PostgresFixture fixture, ITestOutputHelper output)
{
    /// <summary>Pairs stored changes with oracle records by transaction and order within it; counts every difference.</summary>
    internal const string Mismatches =
        """
        WITH c AS (
            SELECT transaction_id AS xid, ordinal AS n, "table" AS tbl, operation, before, after FROM hindsight.changes WHERE source = $1),
        o AS (
            SELECT xid % 4294967296 AS xid, row_number() OVER (PARTITION BY xid ORDER BY seq) AS n, tbl, op AS operation, before, after
            FROM oracle.log)
        SELECT count(*) FROM c FULL JOIN o USING (xid, n)
        WHERE c.xid IS NULL OR o.xid IS NULL OR c.tbl <> o.tbl OR c.operation <> o.operation OR c.before <> o.before OR c.after <> o.after
        """;

    /// <summary>The fault workload's tables, and one whose updates need the previous image: REPLICA IDENTITY DEFAULT
    /// (no old row in the WAL) and a TOASTed value that an update leaves unchanged (not in the WAL either).</summary>
    internal static readonly string Schema = FaultWorkload.Schema +
        """
        CREATE TABLE docs (id int PRIMARY KEY, title text, body text);
        ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
        """ + Oracle.Attach("docs");

    /// <summary>Updates of <c>docs</c> that keep the TOASTed body: each needs the row's previous image.</summary>
    internal static async Task WriteDocsAsync(CaptureHarness h, int round)
    {
        await h.ExecuteAsync(
            $"""
            INSERT INTO docs SELECT g, 'draft', (SELECT string_agg(md5(g::text || i::text || random()::text), '') FROM generate_series(1, 200) i)
            FROM generate_series({round * 10}, {round * 10 + 4}) g;
            """);
        await h.ExecuteAsync($"UPDATE docs SET title = 'reviewed {round}' WHERE id BETWEEN {round * 10} AND {round * 10 + 4}");
        await h.ExecuteAsync($"BEGIN; UPDATE docs SET title = 'final' WHERE id = {round * 10}; UPDATE docs SET title = 'final, again' WHERE id = {round * 10}; COMMIT");
        await h.ExecuteAsync($"DELETE FROM docs WHERE id = {round * 10 + 4}");
    }

    [Fact]
    public async Task Changes_go_through_the_queue_into_the_store_once_with_every_image_complete()
    {
        await using var nats = await NatsCluster.StartAsync();
        var queue = new JetStreamQueueOptions { Urls = nats.Urls };
        await JetStreamSetup.RunAsync(queue);
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        await h.ExecuteAsync("ALTER TABLE docs REPLICA IDENTITY DEFAULT");

        using var stop = new CancellationTokenSource();
        var ingesters = Enumerable.Range(0, 2).Select(_ => new QueueIngester(new QueueIngestOptions { Queue = queue, StoreConnectionString = h.ConnectionString })).ToList();
        var ingesting = ingesters.Select(i => Task.Run(() => i.RunAsync(stop.Token))).ToList();

        // Two capture sessions: the second starts with no recent images, so its fills wait for the ingesters and read the store.
        for (var session = 0; session < 2; session++)
        {
            await using var capture = await JetStreamCapture.ConnectAsync(h.Options(), queue);
            using var stopCapture = new CancellationTokenSource();
            var capturing = Task.Run(() => capture.RunAsync(stopCapture.Token));
            using var stopWorkload = new CancellationTokenSource();
            var workload = Enumerable.Range(0, 2).Select(w => Task.Run(() => FaultWorkload.RunAsync(h.Source, w, stopWorkload.Token))).ToArray();
            await WriteDocsAsync(h, session * 2);
            // A transaction larger than logical_decoding_work_mem (1 MB here) is streamed before it commits, with a schema change in it.
            await h.ExecuteAsync(
                $"""
                BEGIN;
                INSERT INTO ledger (account, amount) SELECT {session}, g FROM generate_series(1, 20000) g;
                ALTER TABLE ledger ADD COLUMN memo{session} text;
                UPDATE ledger SET memo{session} = 'bulk' WHERE account = {session} AND amount <= 10;
                COMMIT;
                """);
            await Task.Delay(1500);
            await WriteDocsAsync(h, session * 2 + 1);
            await stopWorkload.CancelAsync();
            await Task.WhenAll(workload);
            await using (var connection = new NatsConnection(new NatsOpts { Url = nats.Urls[0] }))
                await JetStreamCatchUp.WaitAsync(h.Source, h.Slot, new NatsJSContext(connection), queue.Stream, h.Slot, TimeSpan.FromSeconds(90));
            await stopCapture.CancelAsync();
            await capturing;
        }
        await stop.CancelAsync();
        await Task.WhenAll(ingesting);

        var stored = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");
        var oracle = await h.ScalarAsync<long>("SELECT count(*) FROM oracle.log");
        output.WriteLine($"oracle {oracle}, stored {stored}, by ingester: {string.Join(", ", ingesters.Select(i => i.StoredChanges))}");
        Assert.True(oracle > 40_000, $"the workload should have made a real number of changes ({oracle})");
        Assert.Equal(oracle, stored);
        Assert.Equal(0L, await h.ScalarAsync<long>(Mismatches, h.Slot));
        Assert.Equal(stored, ingesters.Sum(i => i.StoredChanges));
        // The schema changes came through their own messages; the docs' fills are checked by the oracle comparison above.
        Assert.Equal(2L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.schema_changes WHERE \"table\" = 'ledger' AND command_tag = 'ALTER TABLE'"));
        Assert.Equal(4 * 7L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'docs' AND operation = 'UPDATE'")); // 4 rounds of 5 + 2
        // Progress as the ingesters recorded it: every stored change counted.
        Assert.Equal(stored, await h.ScalarAsync<long>("SELECT stored_changes FROM hindsight.progress WHERE slot = $1", h.Slot));
        // Two ingesters chained the source side by side: one chain, every change in it once.
        var chain = await new Hindsight.Chain.TrailVerifier(h.Source).VerifyAsync();
        Assert.True(chain.Intact, string.Join("\n", chain.Breaks.Select(b => $"{b.Kind}: {b.Detail}")));
        Assert.Equal(stored, chain.Sources.Single().VerifiedChanges);
    }
}
