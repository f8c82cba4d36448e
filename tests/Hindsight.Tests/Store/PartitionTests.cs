using System.Diagnostics;
using Hindsight.Store;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Store;

/// <summary>
/// The change table partitioned by commit time: a new store is partitioned, each change lands in the partition whose range
/// holds its commit time, a change outside every partition is caught and later moved, and a store that holds changes is
/// partitioned while the worker writes, losing and duplicating nothing. Checked against PostgreSQL's own catalog (each
/// row's <c>tableoid</c> and its partition's bounds) and the oracle trigger.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class PartitionTests(PostgresFixture fixture, ITestOutputHelper output)
{
    /// <summary>Stored changes whose partition's range does not hold their commit time, or that are in no ranged partition.</summary>
    private const string Misplaced =
        """
        SELECT count(*) FROM hindsight.changes c
        LEFT JOIN hindsight.change_partitions() p ON p.partition = c.tableoid
        WHERE p.partition IS NULL OR NOT (p.lower <= c.committed_at AND c.committed_at < p.upper)
        """;

    [Fact]
    public async Task A_new_store_is_partitioned_by_month_ahead_of_time_and_every_change_lands_in_its_partition()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, FaultWorkload.Schema);
        Assert.Equal("p", await h.ScalarAsync<string>("SELECT relkind::text FROM pg_class WHERE oid = 'hindsight.changes'::regclass"));
        // This month and the next two, each a whole month in UTC.
        Assert.Equal(3L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM hindsight.change_partitions() p, generate_series(0, 2) g
            WHERE p.lower = date_trunc('month', now() + g * interval '1 month', 'UTC') AND p.upper = p.lower + interval '1 month'
            """));

        h.StartWorker();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var written = await Task.WhenAll(Task.Run(() => FaultWorkload.RunAsync(h.Source, 0, stop.Token)), Task.Run(() => FaultWorkload.RunAsync(h.Source, 1, stop.Token)));
        await h.CatchUpAsync();

        var stored = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");
        output.WriteLine($"transactions: {written.Sum(w => w.Committed)}, stored changes: {stored}");
        Assert.True(stored > 100, "the workload should have made a real number of changes");
        var figures = await OracleFigures.ReadAsync(h.Source);
        Assert.True(figures.ExactlyOnce, figures.ToString());
        Assert.Equal(figures.Made, stored);
        Assert.Equal(0L, await h.ScalarAsync<long>(Misplaced));
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes_default"));
    }

    [Fact]
    public async Task A_change_outside_every_partition_is_caught_by_the_default_partition_and_moved_once_one_is_made()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE t (id int PRIMARY KEY)");
        const string Insert =
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            VALUES ('s', 'd', 'public', 't', '[1]', 'CREATE', '{"id": 1}', $1::timestamptz, 7, 1, $2, 0, now())
            RETURNING id
            """;
        var far = await h.ScalarAsync<long>(Insert, "2031-05-05 12:00:00+00", 1L);
        Assert.Equal("hindsight.changes_default", await h.ScalarAsync<string>("SELECT tableoid::regclass::text FROM hindsight.changes WHERE id = $1", far));

        Assert.True(await h.ScalarAsync<int>("SELECT hindsight.maintain_change_partitions()") >= 1);
        Assert.Equal("hindsight.changes_p20310501", await h.ScalarAsync<string>("SELECT tableoid::regclass::text FROM hindsight.changes WHERE id = $1", far));
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes_default"));
        Assert.Equal(0L, await h.ScalarAsync<long>(Misplaced));
        // Exactly once still: the same change again meets its first copy in the partition it was moved to.
        var again = await Assert.ThrowsAsync<PostgresException>(() => h.ScalarAsync<long>(Insert, "2031-05-05 12:00:00+00", 1L));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, again.SqlState);

        // A new period applies to partitions made from then on; those already made keep theirs.
        await h.ExecuteAsync("UPDATE hindsight.settings SET value = 'day' WHERE name = 'partition_period'");
        var sameMonth = await h.ScalarAsync<long>(Insert, "2031-05-20 10:00:00+00", 2L);
        Assert.Equal("hindsight.changes_p20310501", await h.ScalarAsync<string>("SELECT tableoid::regclass::text FROM hindsight.changes WHERE id = $1", sameMonth));
        var july = await h.ScalarAsync<long>(Insert, "2031-07-02 10:00:00+00", 3L);
        await h.ScalarAsync<int>("SELECT hindsight.maintain_change_partitions()");
        Assert.Equal("1 day", await h.ScalarAsync<string>(
            "SELECT (p.upper - p.lower)::text FROM hindsight.changes c JOIN hindsight.change_partitions() p ON p.partition = c.tableoid WHERE c.id = $1", july));
        Assert.Equal(0L, await h.ScalarAsync<long>(Misplaced));
    }

    [Fact]
    public async Task Setup_partitions_a_store_that_holds_changes_while_the_worker_writes_and_loses_nothing()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, FaultWorkload.Schema);
        // A store from before partitioning: the migrations alone make the change table unpartitioned, and a change it
        // already holds keeps setup from partitioning it unasked.
        await StoreMigrations.ApplyAsync(h.Source);
        await h.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            VALUES ('old', 'old', 'public', 'old', '[1]', 'SNAPSHOT', '{"id": 1}', '2020-01-15 08:00:00+00', 1, 1, 1, 0, now())
            """);
        var role = $"part_reader_{Environment.ProcessId}_{Random.Shared.Next(100_000)}";
        await h.ExecuteAsync($"CREATE ROLE {role} NOLOGIN; GRANT USAGE ON SCHEMA hindsight TO {role}; GRANT SELECT ON hindsight.changes TO {role}");
        try
        {
            var report = await h.SetupAsync();
            Assert.False(report.Partitioning!.Partitioned);
            Assert.Contains("--partition month", report.ToText());

            h.StartWorker();
            using var stop = new CancellationTokenSource();
            var workload = new[] { Task.Run(() => FaultWorkload.RunAsync(h.Source, 0, stop.Token)), Task.Run(() => FaultWorkload.RunAsync(h.Source, 1, stop.Token)) };
            await Task.Delay(1500);
            await h.ExecuteAsync("CREATE TABLE oracle.ids AS SELECT id, source, commit_lsn, ordinal FROM hindsight.changes");

            var started = Stopwatch.GetTimestamp();
            report = await h.SetupAsync(o => new Hindsight.Setup.SetupOptions
            {
                SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas,
                Partition = PartitionPeriod.Week,
            });
            var took = Stopwatch.GetElapsedTime(started);
            await Task.Delay(1000); // the worker goes on writing into the partitioned table
            await stop.CancelAsync();
            await Task.WhenAll(workload);
            await h.CatchUpAsync();
            output.WriteLine(report.ToText());

            Assert.True(report.Partitioning!.Partitioned);
            Assert.True(report.PartitionedChanges > 100, $"copied {report.PartitionedChanges}");
            output.WriteLine($"partitioned {report.PartitionedChanges} changes in {took.TotalSeconds:0.00} s with the worker writing");
            Assert.Equal("p", await h.ScalarAsync<string>("SELECT relkind::text FROM pg_class WHERE oid = 'hindsight.changes'::regclass"));
            // Every change PostgreSQL recorded, once, as it recorded it, and the one the store held before.
            var figures = await OracleFigures.ReadAsync(h.Source);
            Assert.True(figures.ExactlyOnce, figures.ToString());
            Assert.Equal(figures.Made + 1, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));
            // Ids kept, and new ones after them.
            Assert.Equal(0L, await h.ScalarAsync<long>(
                "SELECT count(*) FROM oracle.ids o LEFT JOIN hindsight.changes c USING (id, source, commit_lsn, ordinal) WHERE c.id IS NULL"));
            Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"), await h.ScalarAsync<long>("SELECT count(DISTINCT id) FROM hindsight.changes"));
            Assert.Equal(0L, await h.ScalarAsync<long>(Misplaced));
            // The old change went to its week (Monday 2020-01-13), new partitions are weeks, and grants came along.
            Assert.Equal("hindsight.changes_p20200113", await h.ScalarAsync<string>("SELECT tableoid::regclass::text FROM hindsight.changes WHERE source = 'old'"));
            Assert.Equal("7 days", await h.ScalarAsync<string>("SELECT (upper - lower)::text FROM hindsight.change_partitions() ORDER BY upper DESC LIMIT 1"));
            Assert.True(await h.ScalarAsync<bool>($"SELECT has_table_privilege('{role}', 'hindsight.changes', 'SELECT')"));
            Assert.Equal(PartitionPeriod.Week, report.Partitioning.Period);
            // The images' lz4 compression came along, on every partition.
            Assert.Equal(0L, await h.ScalarAsync<long>(
                """
                SELECT count(*) FROM pg_attribute a JOIN pg_partition_tree('hindsight.changes') t ON t.relid = a.attrelid
                WHERE a.attname IN ('before', 'after', 'context') AND a.attcompression <> 'l'
                """));
            // The trend counts stay true on the new table: counted by id (kept), and a delete there takes its changes out.
            Assert.True(await h.ScalarAsync<long>("SELECT hindsight.count_changes()") > 100);
            await h.ExecuteAsync("DELETE FROM hindsight.changes WHERE source = 'old'");
            Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"), await h.ScalarAsync<long>("SELECT sum(changes)::bigint FROM hindsight.change_counts"));
        }
        finally
        {
            await h.ExecuteAsync($"DROP OWNED BY {role}; DROP ROLE {role}");
        }
    }
}
