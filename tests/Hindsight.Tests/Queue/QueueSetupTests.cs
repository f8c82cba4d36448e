using System.Diagnostics;
using Hindsight.Queue;
using Hindsight.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Queue;

/// <summary>
/// <c>hindsight setup --nats</c> against real NATS servers the test starts: the stream and the consumer as JetStream
/// itself reports them, idempotent reruns, updates, and every configuration that could lose changes refused.
/// </summary>
[Trait("Category", "PostgreSQL")] // needs servers: NATS here, PostgreSQL for the combined set-up
[Collection(PostgresCollection.Name)]
public sealed class QueueSetupTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => CliRun.RunAsync(output, args);

    private static async Task<(StreamConfig Stream, ConsumerConfig? Consumer)> ReadAsync(NatsCluster nats, string stream = "hindsight", string consumer = "ingest")
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = string.Join(",", nats.Urls) });
        var js = new NatsJSContext(connection);
        var s = (await js.GetStreamAsync(stream)).Info;
        ConsumerConfig? c = null;
        try { c = (await js.GetConsumerAsync(stream, consumer)).Info.Config; }
        catch (NatsJSApiException) { /* none */ }
        return (s.Config, c);
    }

    [Fact]
    public async Task Setup_creates_the_stream_and_consumer_reruns_unchanged_and_updates_limits()
    {
        await using var nats = await NatsCluster.StartAsync();
        var url = nats.Urls[0];

        var first = await RunAsync("setup", "--nats", url);
        Assert.Equal(0, first.Code);
        Assert.Contains("queue: stream hindsight created (1 replica, no byte limit, no age limit, duplicate window 10 min); consumer ingest created", first.Out, StringComparison.Ordinal);
        // As JetStream reports it: on disk, a work queue that refuses publishes when full, resends dropped by id.
        var (stream, consumer) = await ReadAsync(nats);
        Assert.Equal(StreamConfigStorage.File, stream.Storage);
        Assert.Equal(StreamConfigRetention.Workqueue, stream.Retention);
        Assert.Equal(StreamConfigDiscard.New, stream.Discard);
        Assert.Equal(TimeSpan.FromMinutes(10), stream.DuplicateWindow);
        Assert.Equal(["hindsight.changes.>"], stream.Subjects!);
        Assert.Equal(ConsumerConfigAckPolicy.Explicit, consumer!.AckPolicy);
        Assert.Equal("ingest", consumer.DurableName);

        var again = await RunAsync("setup", "--nats", url);
        Assert.Equal(0, again.Code);
        Assert.Contains("stream hindsight unchanged", again.Out, StringComparison.Ordinal);
        Assert.Contains("consumer ingest unchanged", again.Out, StringComparison.Ordinal);

        var limited = await RunAsync("setup", "--nats", url, "--max-bytes", "64MiB", "--max-age", "7d");
        Assert.Equal(0, limited.Code);
        Assert.Contains("stream hindsight updated", limited.Out, StringComparison.Ordinal);
        (stream, _) = await ReadAsync(nats);
        Assert.Equal(64L << 20, stream.MaxBytes);
        Assert.Equal(TimeSpan.FromDays(7), stream.MaxAge);
        Assert.Equal(StreamConfigDiscard.New, stream.Discard);
    }

    [Fact]
    public async Task Streams_that_could_lose_changes_are_refused_and_left_as_they_are()
    {
        await using var nats = await NatsCluster.StartAsync();
        var url = nats.Urls[0];
        await using (var connection = new NatsConnection(new NatsOpts { Url = url }))
        {
            var js = new NatsJSContext(connection);
            await js.CreateStreamAsync(new StreamConfig("inmemory", ["inmemory.changes.>"]) { Storage = StreamConfigStorage.Memory, Retention = StreamConfigRetention.Workqueue });
            await js.CreateStreamAsync(new StreamConfig("limits", ["limits.changes.>"]) { Retention = StreamConfigRetention.Limits });
            await js.CreateStreamAsync(new StreamConfig("dropping", ["dropping.changes.>"])
            {
                Retention = StreamConfigRetention.Workqueue, Discard = StreamConfigDiscard.Old, MaxMsgs = 1000,
            });
            await js.CreateStreamAsync(new StreamConfig("elsewhere", ["orders.>"]) { Retention = StreamConfigRetention.Workqueue });
            await js.CreateStreamAsync(new StreamConfig("forgetful", ["forgetful.changes.>"])
            {
                Retention = StreamConfigRetention.Workqueue, DuplicateWindow = TimeSpan.FromSeconds(30),
            });
        }
        foreach (var (stream, says) in new[]
                 {
                     ("inmemory", "keeps its messages in memory"),
                     ("limits", "has Limits retention"),
                     ("dropping", "has a message-count limit that discards the oldest messages"),
                     ("elsewhere", "does not take the subjects elsewhere.changes.>"),
                     ("forgetful", "remembers message ids for 30 s, less than the 2 min"),
                 })
        {
            var refused = await RunAsync("setup", "--nats", url, "--stream", stream);
            Assert.Equal(1, refused.Code);
            Assert.Contains($"hindsight: error: stream {stream} exists and {says}", refused.Err, StringComparison.Ordinal);
            Assert.Contains("nothing was changed", refused.Err, StringComparison.Ordinal);
        }
        var (kept, consumer) = await ReadAsync(nats, "inmemory");
        Assert.Equal(StreamConfigStorage.Memory, kept.Storage); // left as it was
        Assert.Null(consumer);
    }

    [Fact]
    public async Task Bad_input_and_an_unreachable_cluster_get_clear_errors()
    {
        string[][] bad =
        [
            ["--nats", "http://127.0.0.1:4222"],
            ["--nats", "nats://127.0.0.1:1", "--replicas", "2"],
            ["--nats", "nats://127.0.0.1:1", "--max-bytes", "lots"],
            ["--nats", "nats://127.0.0.1:1", "--max-bytes", "100KB"],
            ["--nats", "nats://127.0.0.1:1", "--max-age", "10m"],
            ["--nats", "nats://127.0.0.1:1", "--stream", "a.b"],
        ];
        string[] says =
        [
            "'http://127.0.0.1:4222' is not a NATS URL",
            "replicas must be 1 or 3 (is 2)",
            "--max-bytes: 'lots' is not a size",
            "the stream's byte limit must be at least 1 MiB",
            "the stream's age limit must be at least 1 h",
            "'a.b' is not a valid stream name",
        ];
        for (var i = 0; i < bad.Length; i++)
        {
            var r = await RunAsync(["setup", .. bad[i]]);
            Assert.Equal(1, r.Code);
            Assert.Contains(says[i], r.Err, StringComparison.Ordinal);
        }
        var clock = Stopwatch.StartNew();
        var unreachable = await RunAsync("setup", "--nats", "nats://127.0.0.1:1");
        Assert.Equal(1, unreachable.Code);
        Assert.Contains("NATS at nats://127.0.0.1:1 cannot be reached", unreachable.Err, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_three_node_cluster_gets_a_stream_with_three_replicas_and_setup_with_a_source_sets_up_both()
    {
        await using var nats = await NatsCluster.StartAsync(nodes: 3);
        var source = await fixture.CreateDatabaseAsync("queue");
        var r = await RunAsync("setup", "--source", source, "--slot", "queue_setup", "--publication", "queue_setup",
            "--nats", string.Join(",", nats.Urls), "--replicas", "3");
        Assert.Equal(0, r.Code);
        Assert.Contains("queue: stream hindsight created (3 replicas", r.Out, StringComparison.Ordinal);
        Assert.Contains("queue_setup", r.Out, StringComparison.Ordinal); // the database's part, reported before
        await using var connection = new NatsConnection(new NatsOpts { Url = string.Join(",", nats.Urls) });
        var info = (await new NatsJSContext(connection).GetStreamAsync("hindsight")).Info;
        Assert.Equal(3, info.Config.NumReplicas);
        Assert.Equal(2, info.Cluster!.Replicas!.Count); // a leader and two replicas, as the cluster reports them
        await using var db = Npgsql.NpgsqlDataSource.Create(source);
        Assert.Equal(1L, await db.CreateCommand("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'queue_setup'").ExecuteScalarAsync());
        await db.CreateCommand("SELECT pg_drop_replication_slot('queue_setup')").ExecuteNonQueryAsync();
    }
}
