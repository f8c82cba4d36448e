using Hindsight.Queue;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Queue;

/// <summary>
/// The scale path under faults, with the real CLI as processes: three sources (the same tables in each) captured into a
/// three-node JetStream cluster (three copies of each message), two ingesters writing into one store on its own database;
/// capture workers, ingesters and NATS nodes SIGKILLed during a write workload. Every change PostgreSQL committed is
/// stored exactly once, with the images PostgreSQL's own trigger recorded.
/// </summary>
[Trait("Category", "PostgreSQL")]
[Collection(PostgresCollection.Name)]
public sealed class QueueFaultTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const int Sources = 3;

    [Fact]
    public async Task Workers_ingesters_and_nats_nodes_killed_under_load_lose_nothing_and_duplicate_nothing()
    {
        await using var nats = await NatsCluster.StartAsync(3);
        var urls = string.Join(",", nats.Urls);
        var setup = await CliRun.RunAsync(output, "setup", "--nats", urls, "--replicas", "3");
        Assert.True(setup.Code == 0, setup.Err);

        var store = await fixture.CreateDatabaseAsync();
        var sources = new List<CaptureHarness>();
        WorkerProcess[] workers = [], ingesters = [];
        try
        {
            for (var i = 0; i < Sources; i++)
            {
                var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, QueuePathTests.Schema);
                sources.Add(h);
                await h.SetupAsync(o => new SetupOptions
                {
                    SourceConnectionString = o.SourceConnectionString, StoreConnectionString = store, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas,
                });
                await h.ExecuteAsync("ALTER TABLE docs REPLICA IDENTITY DEFAULT");
            }
            string[] RunArgs(CaptureHarness h) => ["--source", h.ConnectionString, "--store", store, "--slot", h.Slot, "--publication", h.Slot, "--nats", urls];
            string[] IngestArgs() => ["--nats", urls, "--store", store];

            workers = sources.Select(h => WorkerProcess.Start(RunArgs(h))).ToArray();
            ingesters = Enumerable.Range(0, 2).Select(_ => WorkerProcess.StartCommand("ingest", IngestArgs())).ToArray();
            using var stopWorkload = new CancellationTokenSource();
            var workload = sources.Select(h => Task.Run(() => FaultWorkload.RunAsync(h.Source, 0, stopWorkload.Token))).ToArray();
            var docs = Task.Run(async () =>
            {
                for (var round = 0; !stopWorkload.IsCancellationRequested; round++)
                {
                    foreach (var h in sources) await QueuePathTests.WriteDocsAsync(h, round);
                    await Task.Delay(300);
                }
            });

            var random = new Random(20261204);
            int workerKills = 0, ingesterKills = 0, nodeKills = 0;
            int? downNode = null;
            for (var round = 1; round <= 12; round++)
            {
                await Task.Delay(random.Next(700, 1600));
                var w = random.Next(Sources);
                workers[w].Kill();
                workers[w].Dispose();
                workers[w] = WorkerProcess.Start(RunArgs(sources[w]));
                workerKills++;
                var i = random.Next(ingesters.Length);
                ingesters[i].Kill();
                ingesters[i].Dispose();
                ingesters[i] = WorkerProcess.StartCommand("ingest", IngestArgs());
                ingesterKills++;
                if (downNode is { } down)
                {
                    nats.Restart(down);
                    downNode = null;
                }
                else if (round % 4 == 1)
                {
                    downNode = nodeKills % 3;
                    nats.Kill(downNode.Value);
                    nodeKills++;
                }
            }
            if (downNode is { } stillDown) nats.Restart(stillDown);
            await stopWorkload.CancelAsync();
            var written = (await Task.WhenAll(workload)).Sum(x => x.Committed);
            await docs;
            output.WriteLine($"killed {workerKills} workers, {ingesterKills} ingesters, {nodeKills} NATS nodes; {written} workload transactions");

            await using (var connection = new NatsConnection(new NatsOpts { Url = urls }))
            {
                var js = new NatsJSContext(connection);
                foreach (var h in sources)
                {
                    try { await JetStreamCatchUp.WaitAsync(h.Source, h.Slot, js, "hindsight", h.Slot, TimeSpan.FromSeconds(120)); }
                    catch (TimeoutException e)
                    {
                        throw new TimeoutException(e.Message + "\nworkers:\n" + string.Join("\n", workers.Select(x => x.Output)) +
                                                   "\ningesters:\n" + string.Join("\n", ingesters.Select(x => x.Output)), e);
                    }
                }
            }
            foreach (var p in workers.Concat(ingesters)) Assert.Equal(0, p.Terminate(TimeSpan.FromSeconds(30)));

            await using var storeDb = NpgsqlDataSource.Create(store);
            foreach (var h in sources) await StoredVersusOracle.AssertExactlyOnceAsync(storeDb, h.Source, h.Slot, output);
        }
        finally
        {
            foreach (var p in workers.Concat(ingesters)) p.Dispose();
            foreach (var h in sources) await h.DisposeAsync();
        }
    }
}
