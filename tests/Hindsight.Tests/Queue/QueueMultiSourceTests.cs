using Hindsight.Queue;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Queue;

/// <summary>One <c>hindsight run --config</c> capturing two databases (the same tables in each) into the queue, one
/// ingester storing both into a store of their own: each source's changes arrive once, under its name.</summary>
[Trait("Category", "PostgreSQL")]
[Collection(PostgresCollection.Name)]
public sealed class QueueMultiSourceTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task One_run_captures_every_configured_source()
    {
        await using var nats = await NatsCluster.StartAsync();
        Assert.Equal(0, (await CliRun.RunAsync(output, "setup", "--nats", nats.Urls[0])).Code);
        var store = await fixture.CreateDatabaseAsync();
        await using var eu = await CaptureHarness.CreateWithoutSetupAsync(fixture, FaultWorkload.Schema);
        await using var us = await CaptureHarness.CreateWithoutSetupAsync(fixture, FaultWorkload.Schema);
        var names = new Dictionary<CaptureHarness, string> { [eu] = "shop-eu", [us] = "shop-us" };
        foreach (var (h, name) in names)
            await h.SetupAsync(o => new SetupOptions
            {
                SourceConnectionString = o.SourceConnectionString, StoreConnectionString = store, SourceName = name, Slot = o.Slot, Publication = o.Publication,
                Schemas = o.Schemas,
            });
        var config = Path.Combine(Path.GetTempPath(), $"hindsight-sources-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, System.Text.Json.JsonSerializer.Serialize(new
        {
            Hindsight = new
            {
                Store = store, Nats = new[] { nats.Urls[0] },
                Sources = names.Select(n => new { Source = n.Key.ConnectionString, SourceName = n.Value, n.Key.Slot, Publication = n.Key.Slot }),
            },
        }));
        try
        {
            using var worker = WorkerProcess.StartCommand("run", ["--config", config]);
            using var ingester = WorkerProcess.StartCommand("ingest", ["--nats", nats.Urls[0], "--store", store]);
            using var stopWorkload = new CancellationTokenSource();
            var workload = names.Keys.Select(h => Task.Run(() => FaultWorkload.RunAsync(h.Source, 0, stopWorkload.Token))).ToArray();
            await Task.Delay(3000);
            await stopWorkload.CancelAsync();
            await Task.WhenAll(workload);
            await using (var connection = new NatsConnection(new NatsOpts { Url = nats.Urls[0] }))
                foreach (var (h, name) in names)
                    await JetStreamCatchUp.WaitAsync(h.Source, h.Slot, new NatsJSContext(connection), "hindsight", name, TimeSpan.FromSeconds(90));
            Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(30)));
            Assert.Equal(0, ingester.Terminate(TimeSpan.FromSeconds(30)));
            foreach (var name in names.Values) Assert.Contains($"as source {name}", worker.Output, StringComparison.Ordinal);

            await using var storeDb = NpgsqlDataSource.Create(store);
            foreach (var (h, name) in names) await StoredVersusOracle.AssertExactlyOnceAsync(storeDb, h.Source, name, output);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
