using Hindsight.Store;
using System.Diagnostics;
using Hindsight.Capture;
using Hindsight.Worker;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>One A/B run: pg_recvlogical and the Hindsight worker each read the same WAL from their own slot.</summary>
internal sealed record ThroughputRun(
    int Run, string Order, long Changes, long Stored, double WriteSeconds,
    double RecvSeconds, CpuSplit RecvServerCpu,
    double HsSeconds, double HsStartToFirstChange, double HsFirstChangeToCaughtUp, double HsFirstStoredToCaughtUp,
    double PeakRssMiB, double WorkerCpuSeconds, CpuSplit HsServerCpu, long StoreTransactions,
    double RecvForeignCpu, double HsForeignCpu)
{
    public double RecvRate => Changes / RecvSeconds;
    public double HsRate => Changes / HsSeconds;
    public double HsSteadyRate => Changes / HsFirstChangeToCaughtUp;
    public double Ratio => HsRate / RecvRate;
    public double Per100k(double seconds) => seconds * 100_000 / Changes;

    /// <summary>The highest ratio this run's CPU allows: pg_recvlogical's time against the time Hindsight's CPU (the worker,
    /// and the server's walsender and store backends) would take spread perfectly over every core of the machine.</summary>
    public double CpuCeiling => RecvSeconds / ((WorkerCpuSeconds + HsServerCpu.Total) / Environment.ProcessorCount);
}

/// <summary>
/// Figure 1: end-to-end throughput (WAL to committed store rows) of the worker against pg_recvlogical
/// decoding the same WAL with pgoutput (target: at least half as fast).
/// </summary>
/// <param name="storeServer">With <c>--store-server</c>: a second private server holding the store (the worker's
/// <c>--store</c>), so the source's walsender does not also read the store's WAL.</param>
internal sealed class ThroughputFigure(BenchServer server, BenchOptions options, BenchServer? storeServer = null)
{
    private const string Publication = "bench_pub";

    /// <summary>The catch-up rate asked for, as a share of pg_recvlogical's on the same WAL.</summary>
    public const double TargetRatio = 0.70;

    public async Task<string> RunAsync()
    {
        var output = new System.Text.StringBuilder();
        var summary = new TextTable("workload", "changes", "pg_recvlogical ch/s", "hindsight ch/s", "ratio", $"target >= {TargetRatio:0.00}",
            "hs 1st read->done ch/s", "peak RSS MiB", "worker CPU s/100k", "server CPU s/100k (hs)", "server CPU s/100k (recv)",
            $"CPU ceiling on {Environment.ProcessorCount} cores");
        Workload[] workloads = [new SmallTransactions(options.SmallTransactions), new LargeTransaction(options.LargeRows), new MixedWorkload()];
        foreach (var w in workloads.Where(w => options.Workloads.Contains(w.Name)))
        {
            Console.Error.WriteLine($"[throughput] workload {w.Name}: {w.Description}, {options.Runs} runs");
            var runs = new List<ThroughputRun>();
            for (var r = 1; r <= options.Runs; r++)
            {
                var run = await RunOnceAsync(w, r, hindsightFirst: r % 2 == 0);
                runs.Add(run);
                Console.Error.WriteLine(
                    $"[throughput]   run {r} ({run.Order}): {run.Changes:N0} changes; pg_recvlogical {run.RecvSeconds:0.00}s = {run.RecvRate:N0}/s; " +
                    $"hindsight {run.HsSeconds:0.00}s = {run.HsRate:N0}/s; ratio {run.Ratio:0.00}; RSS {run.PeakRssMiB:0} MiB");
            }
            output.Append(Detail(w, runs));
            Scorecard.Add($"throughput, {w.Name}: catch-up rate / pg_recvlogical's{(options.Durable ? "" : " (durability off)")}",
                FormattableString.Invariant($"{Stats.Median(runs.Select(x => x.Ratio)):0.00} (runs {Scorecard.Runs(runs.Select(x => x.Ratio), "0.00")}; CPU ceiling {Stats.Median(runs.Select(x => x.CpuCeiling)):0.00})"),
                FormattableString.Invariant($">= {TargetRatio:0.00}"), Stats.Median(runs.Select(x => x.Ratio)) >= TargetRatio);
            var ratio = Stats.Median(runs.Select(x => x.Ratio));
            summary.Add(w.Name, runs[0].Changes,
                Stats.Median(runs.Select(x => x.RecvRate)), Stats.Median(runs.Select(x => x.HsRate)),
                ratio, ratio >= TargetRatio ? "met" : "NOT met",
                Stats.Median(runs.Select(x => x.HsSteadyRate)),
                runs.Max(x => x.PeakRssMiB),
                Stats.Median(runs.Select(x => x.Per100k(x.WorkerCpuSeconds))),
                Stats.Median(runs.Select(x => x.Per100k(x.HsServerCpu.Total))),
                Stats.Median(runs.Select(x => x.Per100k(x.RecvServerCpu.Total))),
                Stats.Median(runs.Select(x => x.CpuCeiling)));
        }
        output.Append("\nthroughput summary (medians over runs; ratio = median of per-run hindsight/pg_recvlogical; peak RSS = max over runs)\n" +
                      "  CPU ceiling: pg_recvlogical's seconds / ((worker CPU + server CPU while hindsight ran) / cores): the ratio Hindsight\n" +
                      "  would reach if its CPU were spread perfectly over every core, and so the most this machine allows it.\n");
        output.Append(summary);
        return output.ToString();
    }

    private static string Detail(Workload w, List<ThroughputRun> runs)
    {
        var t = new TextTable("run", "order", "changes", "recv s", "recv ch/s", "hs s", "hs ch/s", "ratio",
            "hs start->1st read s", "1st read->done s", "1st stored->done s", "store tx", "RSS MiB", "worker CPU s", "srv CPU hs: walsender", "worker backends", "other", "srv CPU recv", "foreign CPU recv/hs");
        foreach (var r in runs)
            t.Add(r.Run, r.Order, r.Changes, r.RecvSeconds, r.RecvRate, r.HsSeconds, r.HsRate, r.Ratio,
                r.HsStartToFirstChange, r.HsFirstChangeToCaughtUp, r.HsFirstStoredToCaughtUp, r.StoreTransactions, r.PeakRssMiB, r.WorkerCpuSeconds,
                r.HsServerCpu.Walsender, r.HsServerCpu.WorkerBackends,
                r.HsServerCpu.Total - r.HsServerCpu.Walsender - r.HsServerCpu.WorkerBackends, r.RecvServerCpu.Total,
                $"{r.RecvForeignCpu:0.0}/{r.HsForeignCpu:0.0}");
        t.Separator();
        t.Add("median", "", (long)Stats.Median(runs.Select(r => (double)r.Changes)),
            Stats.Median(runs.Select(r => r.RecvSeconds)), Stats.Median(runs.Select(r => r.RecvRate)),
            Stats.Median(runs.Select(r => r.HsSeconds)), Stats.Median(runs.Select(r => r.HsRate)),
            Stats.Median(runs.Select(r => r.Ratio)),
            Stats.Median(runs.Select(r => r.HsStartToFirstChange)), Stats.Median(runs.Select(r => r.HsFirstChangeToCaughtUp)),
            Stats.Median(runs.Select(r => r.HsFirstStoredToCaughtUp)),
            (long)Math.Round(Stats.Median(runs.Select(r => (double)r.StoreTransactions))),
            Stats.Median(runs.Select(r => r.PeakRssMiB)), Stats.Median(runs.Select(r => r.WorkerCpuSeconds)),
            Stats.Median(runs.Select(r => r.HsServerCpu.Walsender)), Stats.Median(runs.Select(r => r.HsServerCpu.WorkerBackends)),
            Stats.Median(runs.Select(r => r.HsServerCpu.Total - r.HsServerCpu.Walsender - r.HsServerCpu.WorkerBackends)),
            Stats.Median(runs.Select(r => r.RecvServerCpu.Total)));
        var mismatch = runs.Where(r => r.Stored != r.Changes).Select(r => $"run {r.Run}: stored {r.Stored:N0} of {r.Changes:N0}").ToList();
        return $"\nthroughput, workload '{w.Name}': {w.Description}; write time median {Stats.Median(runs.Select(r => r.WriteSeconds)):0.0}s\n" + t +
               "  hs = the worker, from process start to hindsight.progress.last_commit_lsn >= marker (startup included).\n" +
               "  1st read: the first change the worker read from the slot (min queued_at); 1st stored: the first row inserted\n" +
               "  into hindsight.changes (min created_at; for a streamed transaction that is when it is moved in at its commit).\n" +
               "  CPU columns in seconds. foreign CPU: machine CPU used by processes other than this server and the worker\n" +
               "  while pg_recvlogical / the worker ran (during pg_recvlogical it includes pg_recvlogical's own CPU); the rest\n" +
               "  shows how much the shared machine disturbed the run.\n" +
               (mismatch.Count == 0 ? "check: every run stored exactly the row changes PostgreSQL counted\n"
                                    : "CHECK FAILED: " + string.Join("; ", mismatch) + "\n");
    }

    private async Task<ThroughputRun> RunOnceAsync(Workload w, int run, bool hindsightFirst)
    {
        var db = $"tp_{w.Name}_{run}";
        var hs = $"{db}_hs";
        var rl = $"{db}_rl";
        await server.CreateDatabaseAsync(db);
        try
        {
            await using var ds = server.DataSource(db);
            long before;
            double write;
            await using (var conn = await ds.OpenConnectionAsync())
            {
                await w.PrepareAsync(conn);
                await BenchServer.SetupCaptureAsync(ds, Publication);
                if (storeServer is not null)
                {
                    await storeServer.CreateDatabaseAsync(db);
                    await using var newStore = storeServer.DataSource(db);
                    await StoreMigrations.ApplyAsync(newStore);
                }
                await BenchServer.CreateSlotsAsync(ds, hs, rl); // same starting point; nothing is written in between
                await Workload.FlushStatsAsync(conn);
                before = await BenchServer.RowChangesAsync(ds, Workload.Table);
                var sw = Stopwatch.StartNew();
                await w.RunAsync(conn); // no consumer attached: the WAL is retained by both slots
                write = sw.Elapsed.TotalSeconds;
                await Workload.FlushStatsAsync(conn);
            }
            var marker = await CatchUp.MarkAsync(ds);
            var changes = await BenchServer.RowChangesAsync(ds, Workload.Table) - before;

            (double Seconds, CpuSplit Cpu, double ForeignCpu) recv = default;
            HindsightResult hsResult = default!;
            if (hindsightFirst)
            {
                hsResult = await MeasureHindsightAsync(ds, db, hs, marker);
                recv = await MeasureRecvAsync(ds, db, rl, marker);
            }
            else
            {
                recv = await MeasureRecvAsync(ds, db, rl, marker);
                hsResult = await MeasureHindsightAsync(ds, db, hs, marker);
            }
            NpgsqlDataSource? storeDs = storeServer?.DataSource(db);
            var stored = await server.ScalarAsync<long>(storeDs ?? ds, "SELECT count(*) FROM hindsight.changes WHERE schema = 'public' AND \"table\" = 'items'");
            if (storeDs is not null) await storeDs.DisposeAsync();
            return new ThroughputRun(run, hindsightFirst ? "hs,recv" : "recv,hs", changes, stored, write,
                recv.Seconds, recv.Cpu, hsResult.Seconds, hsResult.StartToFirst, hsResult.FirstToCaughtUp, hsResult.FirstInsertToCaughtUp,
                hsResult.PeakRssMiB, hsResult.CpuSeconds, hsResult.ServerCpu, hsResult.StoreTransactions,
                recv.ForeignCpu, hsResult.ForeignCpuSeconds);
        }
        finally
        {
            if (!options.Keep) await server.DropDatabaseAsync(db);
            if (!options.Keep && storeServer is not null) await storeServer.DropDatabaseAsync(db);
        }
    }

    private Task<(double, CpuSplit, double)> MeasureRecvAsync(NpgsqlDataSource ds, string db, string slot, ulong marker) =>
        Measure.RecvAsync(server, ds, db, slot, Publication, marker);

    private Task<HindsightResult> MeasureHindsightAsync(NpgsqlDataSource ds, string db, string slot, ulong marker) =>
        Measure.HindsightAsync(server, ds, db, slot, Publication, marker, options.WorkerArgs,
            storeServer is null ? null : db, storeServer);
}
