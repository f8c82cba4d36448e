using System.Diagnostics;
using Hindsight.Store;
using Hindsight.Worker;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// The partitioned store: capture into a partitioned change table against an unpartitioned one on the same workload in
/// the same run (target: at least 0.95 of the unpartitioned rate), and how long partitioning a store that holds changes
/// takes, per million changes.
/// </summary>
internal sealed class PartitionFigure(BenchServer server, BenchOptions options)
{
    private const string Publication = "bench_pub";

    /// <summary>The capture rate into a partitioned store asked for, as a share of the unpartitioned store's.</summary>
    public const double TargetRatio = 0.95;

    /// <summary>Changes generated for the partitioning step's timing.</summary>
    private const int MigrateChanges = 1_000_000;

    public async Task<string> RunAsync()
    {
        var output = new System.Text.StringBuilder();
        var summary = new TextTable("workload", "changes", "unpartitioned ch/s", "partitioned ch/s", "ratio", $"target >= {TargetRatio:0.00}");
        Workload[] workloads = [new SmallTransactions(options.SmallTransactions), new LargeTransaction(options.LargeRows)];
        // Experiment aid: HINDSIGHT_BENCH_PARTITION_SIZE_ONLY=1 measures only the bytes per change against the trigger.
        if (Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_PARTITION_SIZE_ONLY") == "1")
            return await SizeAsync(workloads.Where(w => options.Workloads.Contains(w.Name)).Append(new WideRows(20_000)));
        foreach (var w in workloads.Where(w => options.Workloads.Contains(w.Name)))
        {
            Console.Error.WriteLine($"[partition] workload {w.Name}: {w.Description}, {options.Runs} runs of both stores");
            var ratios = new List<double>();
            var detail = new TextTable("run", "order", "changes", "unpartitioned s", "partitioned s", "ratio");
            double changes = 0, plain = 0, parted = 0;
            for (var r = 1; r <= options.Runs; r++)
            {
                var partitionedFirst = r % 2 == 0;
                var first = await RunOnceAsync(w, r, partitioned: partitionedFirst);
                var second = await RunOnceAsync(w, r, partitioned: !partitionedFirst);
                var (p, u) = partitionedFirst ? (first, second) : (second, first);
                var ratio = u.Seconds / p.Seconds;
                ratios.Add(ratio);
                (changes, plain, parted) = (u.Changes, u.Changes / u.Seconds, p.Changes / p.Seconds);
                detail.Add(r, partitionedFirst ? "partitioned, unpartitioned" : "unpartitioned, partitioned", u.Changes, u.Seconds, p.Seconds, ratio);
                Console.Error.WriteLine($"[partition]   run {r}: unpartitioned {u.Seconds:0.00}s, partitioned {p.Seconds:0.00}s, ratio {ratio:0.00}");
            }
            output.Append($"\npartitioned store, workload '{w.Name}': {w.Description}\n").Append(detail);
            var median = Stats.Median(ratios);
            summary.Add(w.Name, changes, plain, parted, median, median >= TargetRatio ? "met" : "NOT met");
            Scorecard.Add($"partitioned store, {w.Name}: capture rate / the unpartitioned store's{(options.Durable ? "" : " (durability off)")}",
                FormattableString.Invariant($"{median:0.00} (runs {Scorecard.Runs(ratios, "0.00")})"),
                FormattableString.Invariant($">= {TargetRatio:0.00}"), median >= TargetRatio);
        }
        output.Append("\npartitioned store summary (ratio = median of per-run unpartitioned seconds / partitioned seconds: the worker from\n" +
                      "its start to having stored every change; the same workload on the same server, the order alternating)\n").Append(summary);
        output.Append(await SizeAsync(workloads.Where(w => options.Workloads.Contains(w.Name)).Append(new WideRows(20_000))));
        output.Append(await MigrateAsync());
        return output.ToString();
    }

    /// <summary>
    /// Bytes per change in the (partitioned) store against a row-level JSONB audit trigger's table on the same workload,
    /// in the same run: the trigger (<see cref="AuditTrigger"/>'s shape, on <c>public.items</c>) writes while the workload
    /// runs, and the worker captures the same changes afterwards. Heap, TOAST and indexes, from pg_relation_size.
    /// </summary>
    private async Task<string> SizeAsync(IEnumerable<Workload> workloads)
    {
        var table = new TextTable("workload", "changes", "store heap B", "store TOAST B", "store indexes B", "store total B",
            "trigger heap B", "trigger TOAST B", "trigger indexes B", "trigger total B", "store / trigger");
        foreach (var w in workloads)
        {
            var db = $"part_size_{w.Name}";
            await server.CreateDatabaseAsync(db);
            try
            {
                await using var ds = server.DataSource(db);
                var (changes, _) = await CaptureAsync(ds, db, w, partitioned: true, auditTrigger: true);
                await BenchServer.ExecAsync(ds, "VACUUM ANALYZE hindsight.changes");
                await BenchServer.ExecAsync(ds, "VACUUM ANALYZE audit.log");
                var store = await SizesAsync(ds,
                    "SELECT p.partition::regclass FROM hindsight.change_partitions() p UNION ALL SELECT 'hindsight.changes_default'::regclass");
                var trigger = await SizesAsync(ds, "SELECT 'audit.log'::regclass");
                var triggerRows = await server.ScalarAsync<long>(ds, "SELECT count(*) FROM audit.log");
                if (triggerRows != changes) throw new InvalidOperationException($"{db}: {changes:N0} changes, {triggerRows:N0} logged by the trigger");
                double Per(long bytes) => (double)bytes / changes;
                table.Add(w.Name, changes, Per(store.Heap), Per(store.Toast), Per(store.Indexes), Per(store.Total),
                    Per(trigger.Heap), Per(trigger.Toast), Per(trigger.Indexes), Per(trigger.Total), (double)store.Total / trigger.Total);
                Scorecard.Add($"bytes per change, {w.Name}: store (partitioned, all indexes) / row-level JSONB audit trigger table",
                    FormattableString.Invariant($"{(double)store.Total / trigger.Total:0.00} ({Per(store.Total):0} B against {Per(trigger.Total):0} B)"), "reported", null);
            }
            finally
            {
                if (!options.Keep) await server.DropDatabaseAsync(db);
            }
        }
        return "\nbytes per change: the store against a row-level JSONB audit trigger table (audit.log, identity key and an index on\n" +
               "(table_name, changed_at), to_jsonb(OLD) and to_jsonb(NEW)) on the same workload in the same run; VACUUM ANALYZEd\n" + table;
    }

    private static async Task<(long Heap, long Toast, long Indexes, long Total)> SizesAsync(NpgsqlDataSource ds, string relations)
    {
        await using var cmd = ds.CreateCommand(
            $"""
            WITH r(rel) AS ({relations}), c AS (SELECT c.* FROM pg_class c JOIN r ON r.rel = c.oid)
            SELECT (SELECT coalesce(sum(pg_relation_size(oid)), 0) FROM c)::bigint,
                   (SELECT coalesce(sum(pg_total_relation_size(reltoastrelid)), 0) FROM c WHERE reltoastrelid <> 0)::bigint,
                   (SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0) FROM pg_index i JOIN c ON c.oid = i.indrelid)::bigint
            """);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        var (heap, toast, indexes) = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
        return (heap, toast, indexes, heap + toast + indexes);
    }

    private async Task<(long Changes, double Seconds)> RunOnceAsync(Workload w, int run, bool partitioned)
    {
        var db = $"part_{w.Name}_{run}_{(partitioned ? "p" : "u")}";
        await server.CreateDatabaseAsync(db);
        try
        {
            await using var ds = server.DataSource(db);
            var result = await CaptureAsync(ds, db, w, partitioned, auditTrigger: false);
            var isPartitioned = await server.ScalarAsync<bool>(ds, "SELECT relkind = 'p' FROM pg_class WHERE oid = 'hindsight.changes'::regclass");
            if (isPartitioned != partitioned) throw new InvalidOperationException($"{db}: the store is {(isPartitioned ? "" : "not ")}partitioned");
            return result;
        }
        finally
        {
            if (!options.Keep) await server.DropDatabaseAsync(db);
        }
    }

    /// <summary>
    /// The workload written into a new database <paramref name="db"/>, then captured by the worker from a slot made before
    /// it; the store partitioned (or not) before anything is written, and the audit trigger on the workload's table if
    /// asked. Returns the row changes PostgreSQL counted, every one checked stored, and the worker's seconds.
    /// </summary>
    private async Task<(long Changes, double Seconds)> CaptureAsync(NpgsqlDataSource ds, string db, Workload w, bool partitioned, bool auditTrigger)
    {
        long before;
        await using (var conn = await ds.OpenConnectionAsync())
        {
            await w.PrepareAsync(conn);
            await BenchServer.SetupCaptureAsync(ds, Publication); // the store's migrations: an unpartitioned change table
            if (partitioned) await ChangePartitions.PartitionStoreAsync(ds, null, CancellationToken.None); // empty: instant
            if (auditTrigger) await BenchServer.ExecAsync(conn, AuditTrigger.SqlFor([Workload.TableName]));
            await BenchServer.CreateSlotsAsync(ds, db);
            await Workload.FlushStatsAsync(conn);
            before = await BenchServer.RowChangesAsync(ds, Workload.Table);
            await w.RunAsync(conn);
            await Workload.FlushStatsAsync(conn);
        }
        var marker = await CatchUp.MarkAsync(ds);
        var changes = await BenchServer.RowChangesAsync(ds, Workload.Table) - before;
        var result = await Measure.HindsightAsync(server, ds, db, db, Publication, marker, options.WorkerArgs);
        var stored = await server.ScalarAsync<long>(ds, "SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'items'");
        if (stored != changes) throw new InvalidOperationException($"{db}: stored {stored:N0} of {changes:N0} changes");
        return (changes, result.Seconds);
    }

    /// <summary>
    /// Partitioning a store that holds changes: a million changes (about 1 KiB of images each, commit times over twelve
    /// months) written into an unpartitioned store with one INSERT ... SELECT, then partitioned by month.
    /// </summary>
    private async Task<string> MigrateAsync()
    {
        const string Db = "part_migrate";
        await server.CreateDatabaseAsync(Db);
        try
        {
            await using var ds = server.DataSource(Db);
            await StoreMigrations.ApplyAsync(ds);
            await BenchServer.ExecAsync(ds,
                $$"""
                INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, before, after, context, committed_at,
                                               transaction_id, position, commit_lsn, ordinal, queued_at)
                SELECT 'bench', 'bench', 'public', 't' || (g % 20), (g % 50000)::text, 'UPDATE',
                       jsonb_build_object('id', g % 50000, 'body', repeat(md5(g::text), 14)),
                       jsonb_build_object('id', g % 50000, 'body', repeat(md5((g + 1)::text), 14)),
                       CASE WHEN g % 3 = 0 THEN jsonb_build_object('userId', 'u' || (g % 100)) ELSE '{}' END,
                       timestamptz '2026-01-01' + (g::float8 / {{MigrateChanges}} * 365) * interval '1 day',
                       g / 5, g, g / 5, g % 5, now()
                FROM generate_series(1, {{MigrateChanges}}) g
                """);
            await BenchServer.ExecAsync(ds, "VACUUM ANALYZE hindsight.changes");
            var sw = Stopwatch.StartNew();
            var copied = await ChangePartitions.PartitionStoreAsync(ds, null, CancellationToken.None);
            var seconds = sw.Elapsed.TotalSeconds;
            var partitions = await server.ScalarAsync<long>(ds, "SELECT count(*) FROM hindsight.change_partitions()");
            Scorecard.Add("partitioning a store that holds changes (setup --partition), seconds per million changes",
                FormattableString.Invariant($"{seconds * 1_000_000 / copied:0.0} s ({copied:N0} changes into {partitions} partitions)"), "reported", true);
            return FormattableString.Invariant(
                $"\npartitioning a store that holds changes: {copied:N0} changes (~1 KiB of images each, over 12 months) into {partitions} monthly partitions in {seconds:0.0} s ({seconds * 1_000_000 / copied:0.0} s per million)\n");
        }
        finally
        {
            if (!options.Keep) await server.DropDatabaseAsync(Db);
        }
    }
}
