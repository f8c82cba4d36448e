using System.Diagnostics;
using System.Threading.Channels;
using Hindsight.Capture;
using Hindsight.Capture.Rendering;
using Hindsight.Stitch;
using Hindsight.Worker;
using Npgsql;
using Npgsql.Replication;

namespace Hindsight.Bench;

/// <summary>
/// Where the worker's time goes: the same backlog read by several consumers, each from its own slot created
/// at the same point — pg_recvlogical; in-process decode only (Npgsql + <see cref="ReplicationReader"/>);
/// decode + render (<see cref="RowImageWriter"/>, as Stitch does); the worker process with the store as it is;
/// and, as what-ifs, the worker with the store's GIN indexes dropped, and with every secondary index dropped.
/// </summary>
internal sealed class ProfileFigure(BenchServer server, BenchOptions options)
{
    private const string Publication = "bench_pub";

    private sealed record Stage(string Name, double Seconds, double ClientCpu, CpuSplit Server, double ForeignCpu,
        double AllocatedBytesPerChange = double.NaN, double GcPauseSeconds = double.NaN, double RenderSeconds = double.NaN,
        double FirstToCaughtUp = double.NaN, double PeakRssMiB = double.NaN, long? StoreTransactions = null,
        double FirstInsertToCaughtUp = double.NaN);

    public async Task<string> RunAsync()
    {
        var sb = new System.Text.StringBuilder();
        Workload[] workloads = [new SmallTransactions(options.SmallTransactions), new LargeTransaction(options.LargeRows)];
        foreach (var w in workloads.Where(w => options.Workloads.Contains(w.Name)))
            sb.Append(await ProfileAsync(w));
        return sb.ToString();
    }

    /// <summary>A fresh database holding the workload's backlog in <paramref name="slots"/> (created at the same point), up to a marker.</summary>
    private async Task<(NpgsqlDataSource Ds, long Changes, ulong Marker)> BacklogAsync(Workload w, string db, string[] slots, string? storeSql = null)
    {
        await server.CreateDatabaseAsync(db);
        var ds = server.DataSource(db);
        long changes;
        await using (var conn = await ds.OpenConnectionAsync())
        {
            await w.PrepareAsync(conn);
            await BenchServer.SetupCaptureAsync(ds, Publication);
            if (storeSql is not null) await BenchServer.ExecAsync(ds, storeSql);
            await BenchServer.CreateSlotsAsync(ds, slots);
            await Workload.FlushStatsAsync(conn);
            var before = await BenchServer.RowChangesAsync(ds, Workload.Table);
            await w.RunAsync(conn);
            await Workload.FlushStatsAsync(conn);
            changes = await BenchServer.RowChangesAsync(ds, Workload.Table) - before;
        }
        return (ds, changes, await CatchUp.MarkAsync(ds));
    }

    private async Task<string> ProfileAsync(Workload w)
    {
        Console.Error.WriteLine($"[profile] workload {w.Name}: {w.Description}");
        var prefix = $"prof_{w.Name}";
        var dbs = new List<string>();
        var stages = new List<Stage>();
        try
        {
            // Consumers that write nothing share one backlog.
            var db = $"{prefix}_read";
            dbs.Add(db);
            var (ds, changes, marker) = await BacklogAsync(w, db,
                [$"{db}_warm", $"{db}_recv1", $"{db}_recv2", $"{db}_recv3", $"{db}_decode", $"{db}_render"]);
            await using (ds)
            {
                // Warm-up (not measured): JIT the in-process reader and renderer on a read of the same backlog.
                await InProcessAsync(ds, db, $"{db}_warm", marker, render: false);
                // pg_recvlogical three times (own slots), the median run is kept: it is the reference of "vs recv".
                var recvs = new List<(double Seconds, CpuSplit Cpu, double ForeignCpu)>();
                for (var i = 1; i <= 3; i++) recvs.Add(await Measure.RecvAsync(server, ds, db, $"{db}_recv{i}", Publication, marker));
                var recv = recvs.OrderBy(r => r.Seconds).ElementAt(1);
                stages.Add(new Stage($"pg_recvlogical (median of 3: {string.Join('/', recvs.Select(r => r.Seconds.ToString("0.00")))} s)",
                    recv.Seconds, double.NaN, recv.Cpu, recv.ForeignCpu));
                Progress(stages[^1], changes);
                stages.Add(await InProcessAsync(ds, db, $"{db}_decode", marker, render: false));
                Progress(stages[^1], changes);
                stages.Add(await InProcessAsync(ds, db, $"{db}_render", marker, render: true));
                Progress(stages[^1], changes);
            }

            // Each worker variant gets a backlog of its own, so that no walsender decodes another variant's store writes.
            async Task Worker(string variant, string name, string? storeSql = null, bool otherStoreDb = false)
            {
                var vdb = $"{prefix}_{variant}";
                dbs.Add(vdb);
                string? storeDb = null;
                if (otherStoreDb)
                {
                    storeDb = $"{vdb}_store";
                    dbs.Add(storeDb);
                    await server.CreateDatabaseAsync(storeDb);
                    await using var storeDs = server.DataSource(storeDb);
                    await Hindsight.Store.StoreMigrations.ApplyAsync(storeDs);
                }
                var (vds, vchanges, vmarker) = await BacklogAsync(w, vdb, [$"{vdb}_hs"], storeSql);
                await using (vds)
                {
                    if (vchanges != changes) Console.Error.WriteLine($"[profile]   warning: {vdb} has {vchanges:N0} changes, not {changes:N0}");
                    var r = await Measure.HindsightAsync(server, vds, vdb, $"{vdb}_hs", Publication, vmarker, options.WorkerArgs, storeDb);
                    stages.Add(new Stage(name, r.Seconds, r.CpuSeconds, r.ServerCpu, r.ForeignCpuSeconds, FirstToCaughtUp: r.FirstToCaughtUp,
                        PeakRssMiB: r.PeakRssMiB, StoreTransactions: r.StoreTransactions, FirstInsertToCaughtUp: r.FirstInsertToCaughtUp));
                    Progress(stages[^1], changes);
                }
                if (!options.Keep) await server.DropDatabaseAsync(vdb);
            }
            await Worker("worker", "worker process, store as migrated");
            await Worker("otherdb", "what-if: worker, --store = other db, same server", otherStoreDb: true);
            const string dropGin = "DROP INDEX hindsight.changes_context_idx;";
            await Worker("imageidx", "what-if: worker, store with setup --index-images (GIN on before/after too)",
                Hindsight.Store.StoreMigrations.ImageIndexes);
            await Worker("nogin", "what-if: worker, store without the context GIN index", dropGin);
            await Worker("noidx", "what-if: worker, store with only PK + unique key",
                dropGin + "DROP INDEX hindsight.changes_record_idx, hindsight.changes_committed_at_idx;");

            var t = new TextTable("consumer (own slot, same workload)", "seconds", "changes/s", "vs recv",
                "client CPU s/100k", "render s/100k", "alloc B/change", "GC pause s/100k", "walsender CPU s/100k", "worker backends CPU s/100k", "other server s/100k",
                "1st change->done s", "1st insert->done s", "store tx", "RSS MiB", "foreign CPU s");
            double Per100k(double s) => s * 100_000 / changes;
            foreach (var s in stages)
            {
                var isRecv = ReferenceEquals(s, stages[0]);
                // pg_recvlogical's walsender has exited when it is measured: its CPU is in the reaped total.
                var walsender = isRecv ? s.Server.Total : s.Server.Walsender;
                var other = isRecv ? 0 : s.Server.Total - s.Server.Walsender - s.Server.WorkerBackends;
                t.Add(s.Name, s.Seconds, changes / s.Seconds, (changes / s.Seconds) / (changes / stages[0].Seconds),
                    Per100k(s.ClientCpu), Per100k(s.RenderSeconds), s.AllocatedBytesPerChange, Per100k(s.GcPauseSeconds), Per100k(walsender),
                    s.Name.Contains("worker") ? Per100k(s.Server.WorkerBackends) : double.NaN, Per100k(other),
                    s.FirstToCaughtUp, s.FirstInsertToCaughtUp, s.StoreTransactions, s.PeakRssMiB, s.ForeignCpu);
            }
            return $"\nprofile, workload '{w.Name}': {w.Description} ({changes:N0} row changes); each consumer reads the backlog from a slot of its own\n" + t +
                   "  client CPU: pg_recvlogical not measured; in-process stages = the bench process; worker = the worker process.\n" +
                   "  walsender CPU for pg_recvlogical = all server CPU while it ran (its walsender had exited when measured).\n" +
                   "  foreign CPU: machine CPU used by processes other than this server and the consumer (for pg_recvlogical it\n" +
                   "  includes pg_recvlogical itself; for in-process stages the consumer is the bench process).\n" +
                   "  walsender CPU for the worker includes decoding the store's own writes (WAL after the marker, decoded while the worker catches up).\n" +
                   "  1st change->done: from the first change the worker read (min queued_at) to caught up; 1st insert->done: from the\n" +
                   "  first row inserted into hindsight.changes (min created_at) to caught up (for a streamed transaction: the copy\n" +
                   "  of its spilled changes at its commit).\n";
        }
        finally
        {
            if (!options.Keep)
                foreach (var d in dbs) await server.DropDatabaseAsync(d);
        }
    }

    private static void Progress(Stage s, long changes) =>
        Console.Error.WriteLine($"[profile]   {s.Name}: {s.Seconds:0.00}s = {changes / s.Seconds:N0} changes/s");

    /// <summary>Reads the slot in this process with the worker's reader; optionally renders every image as Stitch does.</summary>
    private async Task<Stage> InProcessAsync(NpgsqlDataSource ds, string db, string slot, ulong marker, bool render)
    {
        await BenchServer.ExecAsync(ds, "CHECKPOINT");
        var connectionString = server.ConnectionString(db, ServerCpu.WorkerApplicationName);
        var options = new CaptureOptions { SourceConnectionString = connectionString, Slot = slot, Publication = Publication };
        var me = Process.GetCurrentProcess();
        me.Refresh();
        var cpu0 = me.TotalProcessorTime;
        var s0 = ServerCpu.Take(server.Postmaster);
        var m0 = Proc.MachineBusySeconds();
        var alloc0 = GC.GetTotalAllocatedBytes(precise: false);
        var pause0 = GC.GetTotalPauseDuration();
        var sw = Stopwatch.StartNew();

        await using var source = NpgsqlDataSource.Create(connectionString);
        var relations = new RelationCatalog(source, new PgTypeCatalog(source));
        await using var replication = new LogicalReplicationConnection(SourceSession.Apply(connectionString));
        await replication.Open();
        var channel = Channel.CreateBounded<CaptureEvent[]>(new BoundedChannelOptions(CaptureWorker.ChannelCapacity)
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = new CancellationTokenSource();
        var reader = new ReplicationReader(replication, relations, options.Slot, options.Publication, options.ContextSizeLimit);
        var reading = Task.Run(async () =>
        {
            try { await reader.RunAsync(channel.Writer, stop.Token); channel.Writer.TryComplete(); }
            catch (Exception e) { channel.Writer.TryComplete(e); }
        });

        var images = new RowImageWriter(new byte[32]);
        long rows = 0, renderTicks = 0, bytes = 0;
        var done = false;
        await foreach (var batch in channel.Reader.ReadAllAsync())
        {
            foreach (var ev in batch)
            {
                switch (ev)
                {
                    case RowEvent row:
                        rows++;
                        if (!render) break;
                        var t0 = Stopwatch.GetTimestamp();
                        var relation = row.Relation;
                        var key = images.PrimaryKey(relation, row.New ?? row.Old!, row.Old);
                        var before = row.Old is not null && !row.OldIsKeyOnly ? images.Render(relation, row.Old, null) : "{}"u8.ToArray();
                        var after = row.New is null ? "{}"u8.ToArray() : images.Render(relation, row.New, null, toastSource: row.OldIsKeyOnly ? null : row.Old);
                        bytes += before.Length + after.Length + (key?.Length ?? 0);
                        renderTicks += Stopwatch.GetTimestamp() - t0;
                        break;
                    case CommitEvent c when c.CommitLsn >= marker:
                    case StreamCommitEvent sc when sc.CommitLsn >= marker:
                        done = true;
                        break;
                }
                if (done) break;
            }
            if (done) break;
        }
        var seconds = sw.Elapsed.TotalSeconds;
        me.Refresh();
        var cpu = (me.TotalProcessorTime - cpu0).TotalSeconds;
        var m1 = Proc.MachineBusySeconds();
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - alloc0;
        var pause = (GC.GetTotalPauseDuration() - pause0).TotalSeconds;
        var s1 = ServerCpu.Take(server.Postmaster);
        var split = await ServerCpu.SplitAsync(s0, s1, ds);
        await stop.CancelAsync();
        await reading;
        if (!done) throw new InvalidOperationException("the replication stream ended before the marker");
        GC.KeepAlive(bytes);
        Console.Error.WriteLine($"[profile]   {slot}: {rows:N0} row changes decoded");
        return new Stage(render ? "in-process: decode + render (no store)" : "in-process: decode only (Npgsql + ReplicationReader)",
            seconds, cpu, split, Math.Max(0, m1 - m0 - split.Total - cpu),
            AllocatedBytesPerChange: (double)allocated / Math.Max(1, rows), GcPauseSeconds: pause, RenderSeconds: render ? (double)renderTicks / Stopwatch.Frequency : double.NaN);
    }
}
