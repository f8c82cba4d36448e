using Hindsight.Embedded;
using Hindsight.Queue;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Queue;

/// <summary>
/// What the queue is for: the store on its own server stopped for 30 s under load (capture goes on, the source keeps no
/// WAL for it, the queue grows and then drains), and a full stream (capture waits, acknowledging nothing it could not
/// queue). Nothing is lost either way, checked against the oracle.
/// </summary>
[Trait("Category", "PostgreSQL")]
[Collection(PostgresCollection.Name)]
public sealed class QueueOutageTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private static async Task<long> ScalarAsync(NpgsqlDataSource db, string sql, params object[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.AddWithValue(a);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    private const string SlotLag = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1";

    private static async Task<long> QueuedAsync(INatsJSContext js) => (await js.GetStreamAsync("hindsight")).Info.State.Messages;

    [Fact]
    public async Task The_store_stopped_for_30_s_under_load_holds_no_wal_back_and_loses_nothing()
    {
        await using var nats = await NatsCluster.StartAsync();
        var queue = new JetStreamQueueOptions { Urls = nats.Urls };
        await JetStreamSetup.RunAsync(queue);
        // The store on a server of its own, which the test stops; the source on the shared one.
        await using var storeServer = await PrivatePostgresServer.StartAsync();
        await using (var admin = NpgsqlDataSource.Create(storeServer.ConnectionString()))
            await using (var create = admin.CreateCommand("CREATE DATABASE store"))
                await create.ExecuteNonQueryAsync();
        var store = storeServer.ConnectionString("store");
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, FaultWorkload.Schema);
        await h.SetupAsync(o => new SetupOptions
        {
            SourceConnectionString = o.SourceConnectionString, StoreConnectionString = store, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas,
        });

        await using var connection = new NatsConnection(new NatsOpts { Url = nats.Urls[0] });
        var js = new NatsJSContext(connection);
        using var stop = new CancellationTokenSource();
        await using var capture = await JetStreamCapture.ConnectAsync(h.Options(o => new() { SourceConnectionString = o.SourceConnectionString, StoreConnectionString = store, Slot = o.Slot, Publication = o.Publication }), queue);
        var capturing = Task.Run(() => capture.RunAsync(stop.Token));
        var ingester = new QueueIngester(new QueueIngestOptions { Queue = queue, StoreConnectionString = store, RetryMaxDelay = TimeSpan.FromSeconds(2) });
        var ingesting = Task.Run(() => ingester.RunAsync(stop.Token));
        using var stopWorkload = new CancellationTokenSource();
        var workload = Enumerable.Range(0, 2).Select(w => Task.Run(() => FaultWorkload.RunAsync(h.Source, w, stopWorkload.Token))).ToArray();
        await Task.Delay(2000);

        await storeServer.StopServerAsync();
        var walAtStop = await ScalarAsync(h.Source, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint");
        var queuedAtStop = await QueuedAsync(js);
        long maxLag = 0;
        var outage = System.Diagnostics.Stopwatch.StartNew();
        while (outage.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(1000);
            maxLag = Math.Max(maxLag, await ScalarAsync(h.Source, SlotLag, h.Slot));
        }
        var walWritten = await ScalarAsync(h.Source, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint") - walAtStop;
        var queuedAtEnd = await QueuedAsync(js);
        output.WriteLine($"store down 30 s: WAL written {walWritten:N0} B, most retained for the slot {maxLag:N0} B; queue {queuedAtStop} → {queuedAtEnd} messages");
        Assert.True(walWritten > 4L << 20, "the workload should have written WAL meanwhile");
        Assert.True(maxLag < walWritten / 4, "the slot must keep moving while the store is down: the queue holds the changes");
        Assert.True(queuedAtEnd > queuedAtStop + 100, "the queue should have grown while the store was down");

        await storeServer.StartServerAsync();
        await stopWorkload.CancelAsync();
        await Task.WhenAll(workload);
        await JetStreamCatchUp.WaitAsync(h.Source, h.Slot, js, "hindsight", h.Slot, TimeSpan.FromSeconds(120));
        Assert.Equal(0L, await QueuedAsync(js));
        await stop.CancelAsync();
        await Task.WhenAll(capturing, ingesting);
        await using var storeDb = NpgsqlDataSource.Create(store);
        await StoredVersusOracle.AssertExactlyOnceAsync(storeDb, h.Source, h.Slot, output);
    }

    [Fact]
    public async Task The_whole_cluster_down_under_load_holds_the_slot_and_capture_and_ingest_recover_by_themselves()
    {
        await using var nats = await NatsCluster.StartAsync();
        var queue = new JetStreamQueueOptions { Urls = nats.Urls };
        await JetStreamSetup.RunAsync(queue);
        await using var h = await CaptureHarness.CreateAsync(fixture, FaultWorkload.Schema);
        using var stop = new CancellationTokenSource();
        await using var capture = await JetStreamCapture.ConnectAsync(h.Options(o => new()
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        }), queue);
        var capturing = Task.Run(() => capture.RunAsync(stop.Token));
        var ingester = new QueueIngester(new QueueIngestOptions { Queue = queue, StoreConnectionString = h.ConnectionString, RetryMaxDelay = TimeSpan.FromSeconds(1) });
        var ingesting = Task.Run(() => ingester.RunAsync(stop.Token));
        using var stopWorkload = new CancellationTokenSource();
        var workload = Enumerable.Range(0, 2).Select(w => Task.Run(() => FaultWorkload.RunAsync(h.Source, w, stopWorkload.Token))).ToArray();
        await Task.Delay(2000);

        nats.Kill(0);
        var confirmedAtKill = await ScalarAsync(h.Source, "SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint FROM pg_replication_slots WHERE slot_name = $1", h.Slot);
        await Task.Delay(8000);
        // While no node answers, nothing more is acknowledged (at most what was in flight when it died), and status says why.
        var confirmedWhileDown = await ScalarAsync(h.Source, "SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint FROM pg_replication_slots WHERE slot_name = $1", h.Slot);
        await Task.Delay(2000);
        Assert.Equal(confirmedWhileDown, await ScalarAsync(h.Source, "SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint FROM pg_replication_slots WHERE slot_name = $1", h.Slot));
        output.WriteLine($"confirmed at the kill {confirmedAtKill:N0}, while down {confirmedWhileDown:N0}");
        var down = await CliRun.RunAsync(output, "status", "--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot, "--nats", nats.Urls[0]);
        Assert.Equal(2, down.Code);
        Assert.Contains("cannot be reached", down.Out, StringComparison.Ordinal);

        nats.Restart(0);
        await nats.WaitForJetStreamAsync();
        await Task.Delay(2000);
        await stopWorkload.CancelAsync();
        await Task.WhenAll(workload);
        await using var connection = new NatsConnection(new NatsOpts { Url = nats.Urls[0] });
        await JetStreamCatchUp.WaitAsync(h.Source, h.Slot, new NatsJSContext(connection), "hindsight", h.Slot, TimeSpan.FromSeconds(120));
        await stop.CancelAsync();
        await Task.WhenAll(capturing, ingesting);
        await StoredVersusOracle.AssertExactlyOnceAsync(h.Source, h.Source, h.Slot, output);
    }

    [Fact]
    public async Task A_full_stream_makes_capture_wait_and_acknowledge_nothing_it_could_not_queue()
    {
        await using var nats = await NatsCluster.StartAsync();
        var queue = new JetStreamQueueOptions { Urls = nats.Urls, MaxBytes = 1 << 20 };
        await JetStreamSetup.RunAsync(queue);
        await using var h = await CaptureHarness.CreateAsync(fixture, FaultWorkload.Schema);
        await using var connection = new NatsConnection(new NatsOpts { Url = nats.Urls[0] });
        var js = new NatsJSContext(connection);

        using var stop = new CancellationTokenSource();
        await using var capture = await JetStreamCapture.ConnectAsync(h.Options(o => new()
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        }), queue);
        var capturing = Task.Run(() => capture.RunAsync(stop.Token));
        using var stopWorkload = new CancellationTokenSource();
        var workload = Enumerable.Range(0, 2).Select(w => Task.Run(() => FaultWorkload.RunAsync(h.Source, w, stopWorkload.Token))).ToArray();

        // No ingester yet: the stream fills up, JetStream refuses more, and capture waits.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string? error = null;
        while (DateTime.UtcNow < deadline && error is null)
        {
            await Task.Delay(500);
            await using var cmd = h.Source.CreateCommand("SELECT last_error FROM hindsight.progress WHERE slot = $1");
            cmd.Parameters.AddWithValue(h.Slot);
            error = await cmd.ExecuteScalarAsync() as string;
        }
        Assert.NotNull(error);
        output.WriteLine($"status says: {error}");
        Assert.Contains("stream is full", error, StringComparison.Ordinal);
        var stream = (await js.GetStreamAsync("hindsight")).Info.State;
        var lagWhileFull = await ScalarAsync(h.Source, SlotLag, h.Slot);
        await Task.Delay(3000);
        Assert.True(await ScalarAsync(h.Source, SlotLag, h.Slot) > lagWhileFull, "while the stream is full the slot must not move on");
        output.WriteLine($"stream full at {stream.Bytes:N0} bytes, {stream.Messages} messages");
        Assert.True(stream.Bytes <= 1 << 20);
        // status says so, per source, and is unhealthy.
        var full = await CliRun.RunAsync(output, "status", "--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot, "--nats", nats.Urls[0]);
        Assert.Equal(2, full.Code);
        Assert.Contains("problem:   the stream is full", full.Out, StringComparison.Ordinal);
        Assert.Matches(@"source:    [\d,]+ messages not yet ingested, oldest waiting \d+\.\d s", full.Out);
        Assert.Contains("0 ingesters waiting for more", full.Out, StringComparison.Ordinal);

        // Ingesters make room; capture goes on by itself; everything arrives once.
        var ingester = new QueueIngester(new QueueIngestOptions { Queue = queue, StoreConnectionString = h.ConnectionString });
        var ingesting = Task.Run(() => ingester.RunAsync(stop.Token));
        await Task.Delay(2000);
        await stopWorkload.CancelAsync();
        await Task.WhenAll(workload);
        await JetStreamCatchUp.WaitAsync(h.Source, h.Slot, js, "hindsight", h.Slot, TimeSpan.FromSeconds(120));
        var drained = await CliRun.RunAsync(output, "status", "--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot, "--nats", nats.Urls[0],
            "--format", "json");
        Assert.Equal(0, drained.Code);
        using (var json = System.Text.Json.JsonDocument.Parse(drained.Out))
        {
            var q = json.RootElement.GetProperty("queue");
            Assert.Equal(0, q.GetProperty("source_messages").GetInt64());
            Assert.Equal(0, q.GetProperty("ingest_lag_seconds").GetDouble());
            Assert.True(q.GetProperty("waiting_ingesters").GetInt64() >= 1, drained.Out);
        }
        await stop.CancelAsync();
        await Task.WhenAll(capturing, ingesting);
        await StoredVersusOracle.AssertExactlyOnceAsync(h.Source, h.Source, h.Slot, output);
    }
}
