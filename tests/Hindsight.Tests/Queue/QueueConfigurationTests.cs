using Hindsight.Queue;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Queue;

/// <summary>
/// Bad configuration of the scale path, through the CLI: a wrong URL, a missing stream or consumer, a stream that could
/// lose changes, two sources given one name. Each is refused at once with a message that says what to do, and nothing
/// captured is lost: the slot is not acknowledged, and the changes arrive once the configuration is right.
/// </summary>
[Trait("Category", "PostgreSQL")]
[Collection(PostgresCollection.Name)]
public sealed class QueueConfigurationTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => CliRun.RunAsync(output, args);

    private static Task<string> ConfirmedAsync(CaptureHarness h) =>
        h.ScalarAsync<string>("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", h.Slot);

    [Fact]
    public async Task Wrong_urls_missing_or_unsafe_streams_and_missing_consumers_are_refused_clearly_and_nothing_is_acknowledged()
    {
        await using var nats = await NatsCluster.StartAsync();
        var url = nats.Urls[0];
        await using var h = await CaptureHarness.CreateAsync(fixture, FaultWorkload.Schema);
        await h.ExecuteAsync("INSERT INTO accounts VALUES (1, 10, 'before any queue')");
        var confirmed = await ConfirmedAsync(h);
        string[] Run(params string[] more) => ["run", "--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot, .. more];

        var unreachable = await RunAsync(Run("--nats", $"nats://127.0.0.1:{FreePorts.Next()}"));
        Assert.Equal(1, unreachable.Code);
        Assert.Contains("cannot be reached", unreachable.Err, StringComparison.Ordinal);

        var noStream = await RunAsync(Run("--nats", url));
        Assert.Equal(1, noStream.Code);
        Assert.Contains("JetStream has no stream hindsight: run 'hindsight setup --nats", noStream.Err, StringComparison.Ordinal);

        await using (var connection = new NatsConnection(new NatsOpts { Url = url }))
            await new NatsJSContext(connection).CreateStreamAsync(new StreamConfig("volatile", ["volatile.changes.>"])
            {
                Storage = StreamConfigStorage.Memory, Retention = StreamConfigRetention.Workqueue,
            });
        var unsafeStream = await RunAsync(Run("--nats", url, "--stream", "volatile"));
        Assert.Equal(1, unsafeStream.Code);
        Assert.Contains("stream volatile keeps its messages in memory", unsafeStream.Err, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync("setup", "--nats", url)).Code);
        var noConsumer = await RunAsync("ingest", "--nats", url, "--store", h.ConnectionString, "--consumer", "nosuch");
        Assert.Equal(1, noConsumer.Code);
        Assert.Contains("stream hindsight has no consumer nosuch", noConsumer.Err, StringComparison.Ordinal);
        var noNats = await RunAsync("ingest", "--store", h.ConnectionString);
        Assert.Equal(1, noNats.Code);
        Assert.Contains("ingest needs --nats", noNats.Err, StringComparison.Ordinal);

        // Nothing was acknowledged: the change made before is still the slot's to send, and arrives once it is right.
        Assert.Equal(confirmed, await ConfirmedAsync(h));
        await using var capture = await JetStreamCapture.ConnectAsync(h.Options(), new JetStreamQueueOptions { Urls = nats.Urls });
        using var stop = new CancellationTokenSource();
        var capturing = Task.Run(() => capture.RunAsync(stop.Token));
        var ingester = new QueueIngester(new QueueIngestOptions { Queue = new JetStreamQueueOptions { Urls = nats.Urls }, StoreConnectionString = h.ConnectionString });
        var ingesting = Task.Run(() => ingester.RunAsync(stop.Token));
        await using (var connection = new NatsConnection(new NatsOpts { Url = url }))
            await JetStreamCatchUp.WaitAsync(h.Source, h.Slot, new NatsJSContext(connection), "hindsight", h.Slot, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(capturing, ingesting);
        Assert.Equal("before any queue", await h.ScalarAsync<string>("SELECT after ->> 'note' FROM hindsight.changes WHERE \"table\" = 'accounts'"));
    }

    [Fact]
    public async Task Two_sources_given_one_name_are_refused_and_the_second_loses_nothing()
    {
        await using var nats = await NatsCluster.StartAsync();
        Assert.Equal(0, (await RunAsync("setup", "--nats", nats.Urls[0])).Code);
        await using var first = await CaptureHarness.CreateWithoutSetupAsync(fixture, FaultWorkload.Schema);
        await using var second = await CaptureHarness.CreateWithoutSetupAsync(fixture, FaultWorkload.Schema);
        var store = first.ConnectionString;
        foreach (var h in new[] { first, second })
            await h.SetupAsync(o => new SetupOptions
            {
                SourceConnectionString = o.SourceConnectionString, StoreConnectionString = store, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas,
            });
        await second.ExecuteAsync("INSERT INTO accounts VALUES (2, 20, 'second')");
        var confirmed = await ConfirmedAsync(second);

        var named = await RunAsync("run", "--source", second.ConnectionString, "--store", store, "--slot", second.Slot, "--publication", second.Slot,
            "--nats", nats.Urls[0], "--source-name", first.Slot);
        Assert.Equal(1, named.Code);
        Assert.Contains($"is already a source of this store, named '{second.Slot}'", named.Err, StringComparison.Ordinal);
        Assert.Equal(confirmed, await ConfirmedAsync(second));

        // A third database set up under the first one's name is refused before anything is created for it.
        await using var third = await CaptureHarness.CreateWithoutSetupAsync(fixture, FaultWorkload.Schema);
        var taken = await RunAsync("setup", "--source", third.ConnectionString, "--store", store, "--slot", third.Slot, "--publication", third.Slot,
            "--source-name", first.Slot);
        Assert.Equal(1, taken.Code);
        Assert.Contains($"the store already has a source named '{first.Slot}'", taken.Err, StringComparison.Ordinal);
        Assert.Equal(0L, await third.ScalarAsync<long>("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", third.Slot));
    }
}
