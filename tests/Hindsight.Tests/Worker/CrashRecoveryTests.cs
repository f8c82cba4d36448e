using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Worker;

/// <summary>
/// Exactly once under crashes: the worker process is SIGKILLed at random points of a write
/// workload, restarted, and afterwards the store must hold exactly the row changes PostgreSQL
/// itself recorded (oracle trigger), none missing, none twice.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class CrashRecoveryTests(PostgresFixture fixture, ITestOutputHelper output)
{
    /// <summary>Pairs stored changes with oracle records by (transaction, position in transaction).</summary>
    private const string SetMismatches =
        """
        WITH c AS (
            SELECT transaction_id AS xid, ordinal AS n, "table" AS tbl, operation, before, after FROM hindsight.changes),
        o AS (
            SELECT xid % 4294967296 AS xid, row_number() OVER (PARTITION BY xid ORDER BY seq) AS n, tbl, op AS operation, before, after
            FROM oracle.log)
        SELECT count(*) FROM c FULL JOIN o USING (xid, n)
        WHERE c.xid IS NULL OR o.xid IS NULL OR c.tbl <> o.tbl OR c.operation <> o.operation OR c.before <> o.before OR c.after <> o.after
        """;

    [Fact]
    public async Task Twenty_sigkills_during_a_write_workload_lose_nothing_and_duplicate_nothing()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, FaultWorkload.Schema);

        using var stopWorkload = new CancellationTokenSource();
        var workload = Enumerable.Range(0, 3).Select(w => Task.Run(() => FaultWorkload.RunAsync(h.Source, w, stopWorkload.Token))).ToArray();

        var random = new Random(20261126);
        var args = new[] { "--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot };
        for (var kill = 1; kill <= 20; kill++)
        {
            using var worker = WorkerProcess.Start(args);
            await Task.Delay(random.Next(300, 1800));
            Assert.False(worker.HasExited, "the worker exited on its own:\n" + worker.Output);
            worker.Kill();
        }
        await stopWorkload.CancelAsync();
        var written = (await Task.WhenAll(workload)).Sum(w => w.Committed);

        using (var last = WorkerProcess.Start(args))
        {
            await h.CatchUpAsync(last, TimeSpan.FromSeconds(120));
            Assert.Equal(0, last.Terminate(TimeSpan.FromSeconds(30)));
        }

        var stored = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");
        var oracle = await h.ScalarAsync<long>("SELECT count(*) FROM oracle.log");
        output.WriteLine($"transactions written: {written}, row changes recorded by PostgreSQL: {oracle}, stored: {stored}");
        Assert.True(oracle > 1000, "the workload should have made a real number of changes");
        Assert.Equal(oracle, stored);
        Assert.Equal(stored, await h.ScalarAsync<long>("SELECT count(DISTINCT (transaction_id, ordinal)) FROM hindsight.changes"));
        Assert.Equal(0L, await h.ScalarAsync<long>(SetMismatches));

        // The chain survived the kills too: every stored change in it once, no block lost or forked (a block commits with its changes).
        var chain = await new Hindsight.Chain.TrailVerifier(h.Source).VerifyAsync();
        Assert.True(chain.Intact, string.Join("\n", chain.Breaks.Select(b => b.Detail)));
        Assert.Equal(stored, chain.Sources.Single().VerifiedChanges);
        Assert.Equal(stored, chain.Sources.Single().ChainedChanges);
        output.WriteLine($"chain: {chain.Sources.Single().Blocks} blocks, intact");
    }

    [Fact]
    public async Task Walsender_terminated_mid_stream_reconnects_and_loses_nothing()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, FaultWorkload.Schema);
        h.StartWorker(h.Options(o => new()
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(100),
        }));
        using var stopWorkload = new CancellationTokenSource();
        var workload = Task.Run(() => FaultWorkload.RunAsync(h.Source, 0, stopWorkload.Token));
        var terminated = 0;
        for (var i = 0; i < 8; i++)
        {
            await Task.Delay(400);
            terminated += await h.ScalarAsync<int>(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(active_pid)) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL",
                h.Slot);
        }
        await stopWorkload.CancelAsync();
        await workload;
        await h.CatchUpAsync();

        output.WriteLine($"walsender terminated {terminated} times");
        Assert.True(terminated >= 4, "the walsender should have been terminated several times");
        Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) FROM oracle.log"), await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));
        Assert.Equal(0L, await h.ScalarAsync<long>(SetMismatches));
    }
}
