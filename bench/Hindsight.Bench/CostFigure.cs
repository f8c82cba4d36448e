using Hindsight.Capture;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Hindsight.Worker;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>One pgbench run under one way of tracking.</summary>
internal sealed record CostRun(int Run, string Variant, double Tps, long Transactions, double WalBytesPerTx, double ServerCpu,
    double ConsumerCpu, long Changes, double CatchUpSeconds, double ForeignCpu, string Load)
{
    /// <summary>Store transactions the worker wrote the run's changes in (hindsight only).</summary>
    public long StoreTransactions { get; init; }

    /// <summary>The consumer's CPU per 100,000 row changes (the worker's: those it stored; pg_recvlogical's: 4 per transaction).</summary>
    public double ConsumerCpuPer100k => Changes > 0 ? ConsumerCpu * 100_000 / Changes : double.NaN;
}

/// <summary>
/// Figure "cost": what tracking costs the tracked database. pgbench tpcb-like throughput with no tracking, a bare
/// pg_recvlogical reading a slot, Hindsight capturing (store in the same database by default), and a row-level
/// audit trigger; WAL bytes per transaction; the consumer's CPU per 100,000 changes.
/// Targets: Hindsight within 5% of the bare reader, and ahead of the trigger.
/// </summary>
/// <remarks>Each run and variant gets a fresh copy of one pgbench database (CREATE DATABASE … TEMPLATE, FILE_COPY),
/// so every variant starts from the same data; the variants' order rotates from run to run.</remarks>
internal sealed class CostFigure(BenchServer server, BenchOptions options, BenchServer? storeServer = null)
{
    private const string Template = "cost_tpl";
    private const string Publication = "bench_pub";
    private const int Clients = 4;
    private const int Threads = 2;

    private int? TrackedCpu => options.SplitCpus ? CpuPinning.TrackedHost : null;
    private int? CaptureCpu => options.SplitCpus ? CpuPinning.CaptureHost : null;

    private string[] Variants => storeServer is null ? ["none", "recv", "hindsight", "trigger"]
        : options.SplitCpus ? ["none", "recv", "hindsight", "hindsight_db2", "hindsight_store2", "trigger"]
        : ["none", "recv", "hindsight", "hindsight_store2", "trigger"];

    /// <summary>The server holding a variant's store database, or null when the store is in the tracked database.</summary>
    private BenchServer? StoreServerOf(string variant) => variant switch
    {
        "hindsight_store2" => storeServer,
        "hindsight_db2" => server,
        _ => null,
    };

    /// <summary>The store database of a variant with a store of its own (hindsight_db2: a second database of the tracked server).</summary>
    private static string StoreDatabaseOf(string variant, string db) => variant == "hindsight_db2" ? db + "_store" : db;

    public async Task<string> RunAsync()
    {
        var runs = options.RunsGiven ? options.Runs : 2;
        Console.Error.WriteLine($"[cost] pgbench -i -s {options.CostScale}; then tpcb-like -c {Clients} -j {Threads} -T {options.CostSeconds}, " +
                                $"{Variants.Length} variants x {runs} runs");
        await server.CreateDatabaseAsync(Template);
        var results = new List<CostRun>();
        try
        {
            await Pgbench.InitAsync(server, Template, options.CostScale);
            for (var r = 1; r <= runs; r++)
                for (var k = 0; k < Variants.Length; k++)
                {
                    var variant = Variants[(k + r - 1) % Variants.Length];
                    var result = await RunOnceAsync(variant, r);
                    results.Add(result);
                    Console.Error.WriteLine($"[cost]   run {r} {variant}: {result.Tps:N0} tps, WAL {result.WalBytesPerTx:N0} B/tx, " +
                                            $"consumer CPU {result.ConsumerCpu:0.0}s, foreign CPU {result.ForeignCpu:0.0}s, load {result.Load}");
                }
        }
        finally
        {
            await server.DropDatabaseAsync(Template);
        }
        return Report(results);
    }

    private string Report(List<CostRun> results)
    {
        var detail = new TextTable("run", "variant", "tps", "transactions", "WAL B/tx", "server CPU s", "consumer CPU s", "changes",
            "consumer CPU s/100k", "catch-up s", "store tx", "foreign CPU s", "load 1m");
        foreach (var r in results)
            detail.Add(r.Run, r.Variant, r.Tps, r.Transactions, r.WalBytesPerTx, r.ServerCpu, r.ConsumerCpu, r.Changes,
                r.ConsumerCpuPer100k, r.CatchUpSeconds, r.StoreTransactions == 0 ? "" : r.StoreTransactions, r.ForeignCpu, r.Load);

        double RatioTo(string variant, string baseline) => TpsRatio(results, variant, baseline);
        var summary = new TextTable("variant", "tps", "vs none", "vs recv", "WAL B/tx", "consumer CPU s/100k changes", "foreign CPU s", "target");
        foreach (var v in Variants)
        {
            var g = results.Where(x => x.Variant == v).ToList();
            var target = v switch
            {
                "hindsight" or "hindsight_db2" or "hindsight_store2" =>
                    $"{(RatioTo(v, "recv") >= 0.95 ? "met" : "NOT met")} (>= 0.95 x recv); {(RatioTo(v, "trigger") > 1 ? "met" : "NOT met")} (> trigger: {RatioTo(v, "trigger"):0.00}x)",
                _ => "",
            };
            summary.Add(v, Stats.Median(g.Select(x => x.Tps)), RatioTo(v, "none"), v == "none" ? double.NaN : RatioTo(v, "recv"),
                Stats.Median(g.Select(x => x.WalBytesPerTx)), Stats.Median(g.Select(x => x.ConsumerCpuPer100k)),
                Stats.Median(g.Select(x => x.ForeignCpu)), target);
        }
        AddToScorecard(results);
        return $"\ncost{(options.SplitCpus ? " --split-cpus" : "")}: pgbench tpcb-like (-s {options.CostScale}, -c {Clients} -j {Threads}, -M prepared, -T {options.CostSeconds}) on a fresh copy of " +
               "the same database per run and variant; variant order rotates by run\n" + detail +
               "  none: no tracking. recv: a bare pg_recvlogical (pgoutput, proto 2, messages, streaming on) on a slot of a publication\n" +
               "    of schema public; replica identities left as pgbench makes them (pgbench_history has no key: insert-only, fine).\n" +
               "  hindsight: SetupRunner (store schema in the same database, publication, REPLICA IDENTITY FULL on all four tables)\n" +
               "    and the published worker capturing during the run; after pgbench it is given time to catch up (catch-up s).\n" +
               (storeServer is null ? "" : "  hindsight_store2: the same with the store on a second private server on this machine (worker --store).\n") +
               (options.SplitCpus ? "  hindsight_db2: the same with the store in a second database of the tracked server (worker --store): its WAL is\n" +
                                    "    the tracked cluster's, but the walsender skips other databases' records before decoding them.\n" : "") +
               "  trigger: AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW on the four tables, inserting to_jsonb(OLD)/to_jsonb(NEW) into\n" +
               "    audit.log (identity PK + index on (table_name, changed_at)), in the audited transaction.\n" +
               "  WAL B/tx: pg_current_wal_lsn() difference over the cluster / pgbench transactions, from pgbench's start to its end;\n" +
               "    for hindsight to the worker caught up, so it includes the store's WAL (same cluster) and its progress updates;\n" +
               "    hindsight_store2 counts the source cluster only. server CPU: the source server's processes over the same span.\n" +
               "  consumer CPU: the worker's or pg_recvlogical's own CPU (walsender not included); /100k over the changes the worker\n" +
               "    stored, or 4 per transaction for pg_recvlogical. store tx: the store transactions the worker wrote them in.\n" +
               "    foreign CPU: other processes' CPU s during the span.\n" +
               (options.SplitCpus
                   ? $"  --split-cpus: the tracked server (postmaster and every backend, walsenders included) and pgbench ran on CPU {CpuPinning.TrackedHost};\n" +
                     $"    pg_recvlogical, the worker and the second server on CPU {CpuPinning.CaptureHost}: two machines emulated on one. They still\n" +
                     "    share the disk, memory bandwidth and caches, and 'hindsight' (store in the tracked database) writes its store on CPU 0.\n"
                   : "") +
               "\ncost summary (medians over runs; 'vs' = median of per-run tps ratios)\n" + summary;
    }

    /// <summary>The median over runs of <paramref name="variant"/>'s tps over <paramref name="baseline"/>'s. Ratios are
    /// taken within a run (same machine state, adjacent in time), then the median over runs.</summary>
    private static double TpsRatio(List<CostRun> results, string variant, string baseline) =>
        Stats.Median(results.Where(x => x.Variant == variant).Select(x =>
            x.Tps / (results.FirstOrDefault(b => b.Run == x.Run && b.Variant == baseline)?.Tps ?? double.NaN)));

    /// <summary>The worker's CPU per 100,000 changes in this figure before the work on it (2026-12-04, durable): the
    /// target is half of it.</summary>
    private const double WorkerCpuBefore = 4.26;

    /// <summary>Per run: what a variant adds per row change over the same run's untracked pgbench, in CPU µs (the source
    /// server's processes, and the consumer's own) and in WAL bytes; the medians go to the scorecard.</summary>
    private void AddToScorecard(List<CostRun> results)
    {
        CostRun? None(int run) => results.FirstOrDefault(x => x.Run == run && x.Variant == "none");
        double Ratio(string variant, string baseline) => TpsRatio(results, variant, baseline);
        double ExtraCpuUs(CostRun x) => None(x.Run) is { } n
            ? ((x.ServerCpu + (double.IsNaN(x.ConsumerCpu) || x.Variant == "recv" ? 0 : x.ConsumerCpu)) / x.Transactions - n.ServerCpu / n.Transactions)
              / Pgbench.ChangesPerTransaction * 1e6
            : double.NaN;
        double ExtraWal(CostRun x) => None(x.Run) is { } n ? (x.WalBytesPerTx - n.WalBytesPerTx) / Pgbench.ChangesPerTransaction : double.NaN;
        double Median(string variant, Func<CostRun, double> f) => Stats.Median(results.Where(x => x.Variant == variant).Select(f));
        var runs = results.Select(x => x.Run).Distinct().Count();
        var durability = options.Durable ? "" : " (durability off)";
        var tag = options.SplitCpus ? " --split-cpus" : "";

        var vsTrigger = Ratio("hindsight", "trigger");
        Scorecard.Add($"cost{tag}: pgbench tps with Hindsight (store in the tracked database) / with the trigger{durability}",
            FormattableString.Invariant($"{vsTrigger:0.00} ({runs} runs)"), ">= 1.00", vsTrigger >= 1.0);
        if (Variants.Contains("hindsight_store2"))
        {
            var vsRecv = Ratio("hindsight_store2", "recv");
            Scorecard.Add($"cost{tag}: pgbench tps with Hindsight (store on another server) / with a bare pg_recvlogical{durability}",
                FormattableString.Invariant($"{vsRecv:0.00}"), ">= 0.95", vsRecv >= 0.95);
        }
        double hsCpu = Median("hindsight", ExtraCpuUs), trCpu = Median("trigger", ExtraCpuUs);
        Scorecard.Add($"cost{tag}: CPU added per change (source server's processes + worker) vs the trigger's{durability}",
            FormattableString.Invariant($"{hsCpu:0.0} us vs {trCpu:0.0} us"), "<= the trigger's", hsCpu <= trCpu);
        var workerCpu = Median("hindsight", x => x.ConsumerCpuPer100k);
        Scorecard.Add($"cost{tag}: worker CPU per 100,000 changes{durability}",
            FormattableString.Invariant($"{workerCpu:0.00} s"), FormattableString.Invariant($"<= {WorkerCpuBefore / 2:0.00} s (half of {WorkerCpuBefore:0.00})"),
            workerCpu <= WorkerCpuBefore / 2);
        double hsWal = Median("hindsight", ExtraWal), trWal = Median("trigger", ExtraWal);
        Scorecard.Add($"cost{tag}: WAL added per change vs the trigger's{durability}",
            FormattableString.Invariant($"{hsWal:N0} B vs {trWal:N0} B"), "<= the trigger's", hsWal <= trWal);
    }

    private async Task<CostRun> RunOnceAsync(string variant, int run)
    {
        var db = $"cost_{variant}_{run}";
        var slot = $"{db}_slot";
        await server.CopyDatabaseAsync(Template, db);
        var storeAt = StoreServerOf(variant);
        var storeDb = StoreDatabaseOf(variant, db);
        if (storeAt is not null) await storeAt.CreateDatabaseAsync(storeDb);
        WorkerProcess? worker = null;
        RecvLogicalProcess? recv = null;
        try
        {
            await using var ds = server.DataSource(db);
            await using var storeDs = storeAt?.DataSource(storeDb);
            switch (variant)
            {
                case "recv":
                    await BenchServer.ExecAsync(ds, $"CREATE PUBLICATION {Publication} FOR TABLES IN SCHEMA public");
                    await BenchServer.CreateSlotsAsync(ds, slot);
                    recv = RecvLogicalProcess.Start(server, db, slot, Publication, toStdout: false, CaptureCpu);
                    var r = recv;
                    await BenchServer.WaitSlotActiveAsync(ds, slot, () => { try { r.EnsureRunning(); return null; } catch (InvalidOperationException e) { return e.Message; } });
                    break;
                case "hindsight" or "hindsight_db2" or "hindsight_store2":
                {
                    var storeCs = storeAt?.ConnectionString(storeDb, ServerCpu.WorkerApplicationName);
                    await new SetupRunner(new SetupOptions
                    {
                        SourceConnectionString = server.ConnectionString(db), StoreConnectionString = storeCs, Slot = slot, Publication = Publication,
                    }).RunAsync();
                    worker = BenchWorker.Start(server.ConnectionString(db, ServerCpu.WorkerApplicationName), slot, Publication,
                        storeCs is null ? options.WorkerArgs : [.. options.WorkerArgs, "--store", storeCs]);
                    await using (var poll = await (storeDs ?? ds).OpenConnectionAsync())
                        await worker.WaitForAsync(poll, slot, db, 0, TimeSpan.FromMinutes(1));
                    var w = worker;
                    await BenchServer.WaitSlotActiveAsync(ds, slot, () => w.HasExited ? "the worker exited:\n" + w.RecentLog() : null);
                    break;
                }
                case "trigger":
                    await BenchServer.ExecAsync(ds, AuditTrigger.Sql);
                    break;
            }
            await BenchServer.ExecAsync(ds, "CHECKPOINT");
            await Task.Delay(500);

            var cpu = new CpuWindow(server.Postmaster);
            var consumer0 = worker?.CpuSeconds() ?? recv?.CpuSeconds ?? 0;
            var lsn0 = await LsnAsync(ds);
            var (tps, transactions) = await Pgbench.RunAsync(server, db, options.CostSeconds, Clients, Threads, TrackedCpu);
            var lsn1 = await LsnAsync(ds);
            double catchUp = double.NaN, consumerCpu = double.NaN;
            long changes = 0, storeTransactions = 0;
            if (worker is not null)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                var marker = await CatchUp.MarkAsync(ds);
                await using (var poll = await (storeDs ?? ds).OpenConnectionAsync())
                    await worker.WaitForAsync(poll, slot, db, marker, TimeSpan.FromMinutes(10));
                catchUp = sw.Elapsed.TotalSeconds;
                lsn1 = await LsnAsync(ds);
                consumerCpu = worker.CpuSeconds() - consumer0;
                worker.Stop();
                changes = await server.ScalarAsync<long>(storeDs ?? ds, "SELECT count(*) FROM hindsight.changes WHERE database = $1", db);
                storeTransactions = await server.ScalarAsync<long>(storeDs ?? ds,
                    "SELECT count(DISTINCT xmin::text) FROM hindsight.changes WHERE database = $1", db);
            }
            if (recv is not null)
            {
                recv.EnsureRunning();
                consumerCpu = (recv.CpuSeconds ?? double.NaN) - consumer0;
                await recv.StopAsync();
                changes = transactions * Pgbench.ChangesPerTransaction;
            }
            var (serverCpu, _, foreign) = cpu.Close();
            return new CostRun(run, variant, tps, transactions, (double)(lsn1 - lsn0) / transactions, serverCpu, consumerCpu, changes,
                catchUp, foreign, Proc.LoadAverage().Split(' ')[0]) { StoreTransactions = storeTransactions };
        }
        finally
        {
            worker?.Dispose();
            if (recv is not null) await recv.DisposeAsync();
            if (!options.Keep) await server.DropDatabaseAsync(db);
            if (!options.Keep && storeAt is not null) await storeAt.DropDatabaseAsync(storeDb);
        }
    }

    private static async Task<ulong> LsnAsync(NpgsqlDataSource ds)
    {
        await using var cmd = ds.CreateCommand("SELECT pg_current_wal_lsn()");
        return (ulong)(NpgsqlTypes.NpgsqlLogSequenceNumber)(await cmd.ExecuteScalarAsync())!;
    }
}
