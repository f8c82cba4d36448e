using Hindsight.Setup;
using Hindsight.Status;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Setup;
using Xunit;
using static Hindsight.Tests.Setup.SetupTestDatabases;

namespace Hindsight.Tests.Status;

[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class StatusReaderTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly SetupTestDatabases _dbs = new(fixture);

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _dbs.DisposeAsync();

    [Fact]
    public async Task Healthy_after_setup()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY)");
        await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();

        var s = await new StatusReader(new StatusOptions { SourceConnectionString = cs, Slot = slot }).ReadAsync();
        Assert.True(s.Healthy, string.Join("; ", s.Problems));
        Assert.True(s.SlotExists);
        Assert.False(s.SlotActive);
        Assert.Equal("reserved", s.WalStatus);
        Assert.Equal(await ScalarAsync<string>(cs, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", slot), s.ConfirmedPosition);
        Assert.NotNull(s.LagBytes);
        Assert.True(s.PublicationExists);
        Assert.Equal(1, s.PublishedTables);
        Assert.Equal(Hindsight.Store.StoreMigrations.LatestVersion, s.StoreVersion);
        Assert.Null(s.StoredChanges);
    }

    [Fact]
    public async Task Unhealthy_without_slot_or_store()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY)");
        var s = await new StatusReader(new StatusOptions { SourceConnectionString = cs, Slot = slot }).ReadAsync();
        Assert.False(s.Healthy);
        Assert.False(s.SlotExists);
        Assert.Contains(s.Problems, p => p.Contains("does not exist", StringComparison.Ordinal) && p.Contains(slot, StringComparison.Ordinal));
        Assert.Contains(s.Problems, p => p.Contains("store is not set up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Progress_lag_and_thresholds()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY)");
        await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        // WAL after the slot's position, and a worker's progress row that stopped an hour ago.
        await ExecAsync(cs, "INSERT INTO t SELECT generate_series(1, 1000)");
        await ExecAsync(cs,
            $"""
            INSERT INTO hindsight.progress (slot, source, database, last_end_lsn, stored_changes, stored_transactions, updated_at, last_error)
            VALUES ('{slot}', current_database(), current_database(), {0x16B3748}, 42, 7, now() - interval '1 hour', 'connection reset by peer')
            """);

        var s = await new StatusReader(new StatusOptions { SourceConnectionString = cs, Slot = slot }).ReadAsync();
        var lag = await ScalarAsync<long>(cs,
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1", slot);
        Assert.InRange(s.LagBytes!.Value, 1, lag);
        // Retained WAL against PostgreSQL's own figure for the slot (restart_lsn); unlimited by default.
        var retained = await ScalarAsync<long>(cs,
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1", slot);
        Assert.InRange(s.RetainedBytes!.Value, s.LagBytes.Value, retained);
        Assert.Null(s.SafeWalBytes);
        Assert.Contains("max_slot_wal_keep_size unlimited", s.ToText());
        Assert.InRange(s.LagSeconds!.Value, 3590, 3700);
        Assert.Equal("0/16B3748", s.LastStoredPosition);
        Assert.Equal(42, s.StoredChanges);
        Assert.Equal(7, s.StoredTransactions);
        Assert.Equal("connection reset by peer", s.LastError);
        Assert.False(s.Healthy); // an hour without progress is over the default 10 minutes
        Assert.Contains(s.Problems, p => p.Contains("--max-lag-seconds", StringComparison.Ordinal));

        var lenient = await new StatusReader(new StatusOptions { SourceConnectionString = cs, Slot = slot, MaxLag = TimeSpan.FromHours(2) }).ReadAsync();
        Assert.True(lenient.Healthy, string.Join("; ", lenient.Problems));

        var strictBytes = await new StatusReader(new StatusOptions
        {
            SourceConnectionString = cs, Slot = slot, MaxLag = TimeSpan.FromHours(2), MaxLagBytes = 0,
        }).ReadAsync();
        Assert.False(strictBytes.Healthy);
        Assert.Contains(strictBytes.Problems, p => p.Contains("--max-lag-bytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_output_never_contains_the_password()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY)");
        await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        var withPassword = new Npgsql.NpgsqlConnectionStringBuilder(cs) { Password = "Status-S3cret" }.ConnectionString;
        var s = await new StatusReader(new StatusOptions { SourceConnectionString = withPassword, Slot = slot }).ReadAsync();
        Assert.DoesNotContain("Status-S3cret", s.ToText());
        Assert.DoesNotContain("Status-S3cret", System.Text.Json.JsonSerializer.Serialize(s));
    }
}
