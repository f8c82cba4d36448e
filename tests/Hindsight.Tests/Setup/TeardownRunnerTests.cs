using Hindsight.Configuration;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using Xunit;
using static Hindsight.Tests.Setup.SetupTestDatabases;

namespace Hindsight.Tests.Setup;

[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TeardownRunnerTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly SetupTestDatabases _dbs = new(fixture);

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _dbs.DisposeAsync();

    private async Task<(string Cs, string Slot)> SetUpAsync()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY, v text)");
        await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        return (cs, slot);
    }

    [Fact]
    public async Task Teardown_drops_slot_and_publication_keeps_the_store_and_is_idempotent()
    {
        var (cs, slot) = await SetUpAsync();
        var report = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        Assert.True(report.SlotDropped);
        Assert.True(report.PublicationDropped);
        Assert.False(report.StoreSchemaDropped);

        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot));
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_publication WHERE pubname = 'hindsight'"));
        Assert.Equal(1L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_namespace WHERE nspname = 'hindsight'"));

        var again = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        Assert.False(again.SlotDropped);
        Assert.False(again.PublicationDropped);
    }

    [Fact]
    public async Task Purge_drops_the_store_schema()
    {
        var (cs, slot) = await SetUpAsync();
        var report = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot, Purge = true }).RunAsync();
        Assert.True(report.StoreSchemaDropped);
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_namespace WHERE nspname = 'hindsight'"));
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot));

        var again = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot, Purge = true }).RunAsync();
        Assert.False(again.StoreSchemaDropped);
    }

    [Fact]
    public async Task Purge_of_a_shared_store_deletes_only_this_databases_changes()
    {
        var (cs, slot) = await SetUpAsync();
        await ExecAsync(cs,
            """
            INSERT INTO hindsight.progress (slot, source, database) VALUES ('other_slot', 'other_db', 'other_db');
            INSERT INTO hindsight.changes (source, database, schema, "table", operation, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            VALUES (current_database(), current_database(), 'public', 't', 'CREATE', now(), 1, 1, 1, 0, now()),
                   ('other_db', 'other_db', 'public', 't', 'CREATE', now(), 1, 1, 1, 0, now());
            INSERT INTO hindsight.chain_blocks (source, block, prev_hash, hash, root, changes, total_changes, prior_changes, run_commit_lsns,
                                                run_first_ordinals, run_counts, run_committed_ats, leaves, frontier, last_commit_lsn)
            SELECT s, 0, '\x00', '\x00', '\x00', 0, 0, 0, '{}', '{}', '{}', '{}', '\x', '\x', 0 FROM unnest(ARRAY[current_database(), 'other_db']) s;
            """);
        var report = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot, Purge = true }).RunAsync();
        Assert.False(report.StoreSchemaDropped);
        Assert.Equal(1, report.ChangesDeleted);
        Assert.Equal(["other_db"], (await QueryAsync(cs, "SELECT database FROM hindsight.changes")).Select(r => r[0]));
        // The purged source's chain went with its changes; the other's stays.
        Assert.Equal(["other_db"], (await QueryAsync(cs, "SELECT source FROM hindsight.chain_blocks")).Select(r => r[0]));
    }

    [Fact]
    public async Task An_active_slot_is_refused_unless_forced()
    {
        var (cs, slot) = await SetUpAsync();
        await using var replication = new LogicalReplicationConnection(cs);
        await replication.Open();
        using var stop = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in replication.StartReplication(new PgOutputReplicationSlot(slot),
                                   new PgOutputReplicationOptions(ConnectionOptions.DefaultPublication, PgOutputProtocolVersion.V1), stop.Token)) { }
            }
            catch (Exception) { /* terminated by teardown --force, or stopped */ }
        });
        try
        {
            await WaitUntilAsync(async () => await ScalarAsync<bool>(cs, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", slot));

            var e = await Assert.ThrowsAsync<SetupException>(() =>
                new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot }).RunAsync());
            Assert.Contains("in use", e.Message);
            Assert.Contains("--force", e.Message);
            // Nothing was dropped.
            Assert.Equal(1L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot));
            Assert.Equal(1L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_publication WHERE pubname = 'hindsight'"));

            var report = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot, Force = true }).RunAsync();
            Assert.True(report.SlotDropped);
            Assert.Single(report.TerminatedPids);
            Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot));
            Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_publication WHERE pubname = 'hindsight'"));
        }
        finally
        {
            await stop.CancelAsync();
            await reading.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(50);
        }
    }
}
