using Npgsql;

namespace Hindsight.Bench;

/// <summary>One consumer's latencies in one run, milliseconds.</summary>
internal sealed record LatencyRun(int Run, string Consumer, string Order, int Measured, double AchievedTps, double SendLagP99,
    double P50, double P90, double P99, double Max, double SchedP99, double SchedMax, double PollMs, int Missing,
    double ConsumerCpu, double ServerCpu, double ForeignCpu, string Load)
{
    /// <summary>Store transactions that wrote the phase's changes (hindsight only) and the server CPU of the walsender
    /// and of the worker's store backend, for the profile of where the time goes.</summary>
    public long StoreTransactions { get; init; }
    public double WalsenderCpu { get; init; } = double.NaN;
    public double WorkerBackendCpu { get; init; } = double.NaN;

    /// <summary>Where a change's time went (hindsight only, p50/p99 ms, from the stored timestamps): source commit → read by
    /// the worker (<c>queued_at</c>), read → its row inserted into the store (<c>created_at</c>, clock_timestamp()), inserted →
    /// first seen by the poller.</summary>
    public string ToWorker { get; init; } = "";
    public string InWorker { get; init; } = "";
    public string StoreToSeen { get; init; } = "";

    /// <summary>The store's own commit latency right after the run (p50/p99 ms of one-row autocommit inserts, hindsight
    /// only): the disk's flush floor under the server's durability settings.</summary>
    public double StoreCommitP50 { get; init; } = double.NaN;
    public double StoreCommitP99 { get; init; } = double.NaN;
}

/// <summary>
/// Figure "latency": commit-to-queryable latency of the worker at a steady rate of small transactions (target: p99
/// under 30 ms), and, as a floor, commit-to-received of a bare pg_recvlogical on the same load.
/// </summary>
/// <remarks>
/// Clocks: all on this machine's CLOCK_REALTIME. The source commit time is the commit record's timestamp
/// (PostgreSQL's clock as the transaction commits), as pgoutput sends it: the worker stores it as
/// <c>committed_at</c>, and the floor reads it from the commit message. "Queryable" is when <see cref="StorePoller"/>,
/// polling every ~2 ms from its own connection, first saw the change (the store transaction had committed);
/// "received" is when pg_recvlogical's output of the commit reached the bench. Neither uses the worker's bookkeeping.
/// </remarks>
internal sealed class LatencyFigure(BenchServer server, BenchOptions options)
{
    private const string Publication = "bench_pub";
    private const double TargetP99Ms = 30;
    private const int WarmupSeconds = 5;
    private const int Connections = 4;

    private int Total => options.LatencyRate * (WarmupSeconds + options.LatencySeconds);
    private int Warmup => options.LatencyRate * WarmupSeconds;

    public async Task<string> RunAsync()
    {
        Console.Error.WriteLine($"[latency] {options.LatencyRate:N0} tx/s for {WarmupSeconds}+{options.LatencySeconds}s per consumer, {options.Runs} runs");
        var runs = new List<LatencyRun>();
        for (var r = 1; r <= options.Runs; r++)
        {
            var db = $"lat_{r}";
            await server.CreateDatabaseAsync(db);
            try
            {
                await using var ds = server.DataSource(db);
                await BenchServer.ExecAsync(ds, RateDriver.Schema);
                await BenchServer.ExecAsync(ds, $"VACUUM ANALYZE {RateDriver.Table}");
                await BenchServer.SetupCaptureAsync(ds, Publication);
                var hsFirst = r % 2 == 1;
                var order = hsFirst ? "hs,recv" : "recv,hs";
                for (var phase = 0; phase < 2; phase++)
                {
                    var run = phase == 0 == hsFirst ? await HindsightAsync(ds, db, r, order, phase) : await RecvAsync(ds, db, r, order, phase);
                    runs.Add(run);
                    Console.Error.WriteLine($"[latency]   run {r} {run.Consumer}: p50 {run.P50:0.0} p99 {run.P99:0.0} max {run.Max:0.0} ms, " +
                                            $"{run.AchievedTps:N0} tx/s, foreign CPU {run.ForeignCpu:0.0}s, load {run.Load}");
                }
            }
            finally
            {
                if (!options.Keep) await server.DropDatabaseAsync(db);
            }
        }
        return Report(runs);
    }

    private string Report(List<LatencyRun> runs)
    {
        var detail = new TextTable("run", "consumer", "order", "measured tx", "achieved tx/s", "send lag p99", "p50", "p90", "p99", "max",
            "sched->seen p99", "sched->seen max", "poll ms", "missing", "consumer CPU s", "server CPU s", "walsender", "worker backend",
            "store tx", "to worker p50/p99", "in worker p50/p99", "store->seen p50/p99", "store commit p50/p99", "foreign CPU s", "load 1m");
        foreach (var r in runs.OrderBy(r => r.Consumer).ThenBy(r => r.Run))
            detail.Add(r.Run, r.Consumer, r.Order, r.Measured, r.AchievedTps, r.SendLagP99, r.P50, r.P90, r.P99, r.Max, r.SchedP99, r.SchedMax,
                r.PollMs, r.Missing, r.ConsumerCpu, r.ServerCpu, r.WalsenderCpu, r.WorkerBackendCpu,
                r.StoreTransactions == 0 ? "" : r.StoreTransactions, r.ToWorker, r.InWorker, r.StoreToSeen,
                double.IsNaN(r.StoreCommitP50) ? "" : FormattableString.Invariant($"{r.StoreCommitP50:0.0}/{r.StoreCommitP99:0.0}"), r.ForeignCpu, r.Load);
        var summary = new TextTable("consumer", "runs", "achieved tx/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "worst run p99 ms", $"target p99 <= {TargetP99Ms:0} ms");
        foreach (var g in runs.GroupBy(r => r.Consumer).OrderBy(g => g.Key))
        {
            var p99 = Stats.Median(g.Select(r => r.P99));
            summary.Add(g.Key, g.Count(), Stats.Median(g.Select(r => r.AchievedTps)), Stats.Median(g.Select(r => r.P50)),
                Stats.Median(g.Select(r => r.P90)), p99, g.Max(r => r.Max), g.Max(r => r.P99),
                g.Key == "hindsight" ? g.All(r => r.P99 <= TargetP99Ms) ? "met (every run)" : "NOT met (every run)" : "(floor)");
            if (g.Key == "hindsight")
                Scorecard.Add($"latency: p99 commit -> queryable at {options.LatencyRate:N0} tx/s, worst of {g.Count()} runs",
                    FormattableString.Invariant($"{g.Max(r => r.P99):0.0} ms (runs {Scorecard.Runs(g.Select(r => r.P99), "0.0")}; store commit p99 {g.Max(r => r.StoreCommitP99):0.0} ms)"),
                    $"<= {TargetP99Ms:0} ms in every run", g.All(r => r.P99 <= TargetP99Ms));
        }
        return $"\nlatency: {options.LatencyRate:N0} tx/s scheduled (each one INSERT or one UPDATE of public.lat, autocommit, {Connections} connections " +
               $"taking the next due transaction), {WarmupSeconds}s warm-up not counted, {options.LatencySeconds}s measured per consumer; " +
               "the two consumers take turns, order alternating by run\n" + detail +
               "  hindsight: commit -> queryable = first poll of hindsight.changes (id > last seen, every ~2 ms, own connection) that\n" +
               "    returned the change, minus its committed_at (the source commit record's timestamp). Rounded up by <= 1 poll + 1 query.\n" +
               "  recv: commit -> received = when pg_recvlogical's output of the commit message reached the bench, minus the commit\n" +
               "    timestamp in it (transactions committed after the warm-up).\n" +
               "  sched->seen: from the moment the transaction was due by the schedule (includes the client waiting and the source\n" +
               "    commit; what a stall would add). send lag: client send time minus due time. Latencies in ms.\n" +
               "  consumer CPU: the worker's or pg_recvlogical's CPU s during the phase (warm-up included); server CPU: all of the server's\n" +
               "    processes (the driver's backends too), of which walsender and the worker's store backend (hindsight); store tx:\n" +
               "    store transactions that wrote the phase's changes (warm-up included). foreign CPU: other processes' CPU s then.\n" +
               "  where the time went (hindsight, measured transactions, p50/p99 ms): to worker = queued_at - committed_at (source commit\n" +
               "    to read off the slot); in worker = created_at - queued_at (read to its row's insert into the store, created_at being\n" +
               "    clock_timestamp() then: stitching, waiting for the group commit); store->seen = first poll that returned it -\n" +
               "    created_at (the rest of the store commit, the poll interval and query).\n" +
               "  store commit: p50/p99 ms of 300 one-row autocommit inserts into the store database right after the run: the\n" +
               "    disk's floor for one durable commit. The target holds when every run's p99 is within it.\n" +
               $"\nlatency summary (medians over runs; max = over all runs)\n" + summary;
    }

    private async Task<LatencyRun> HindsightAsync(NpgsqlDataSource ds, string db, int run, string order, int phase)
    {
        var slot = $"{db}_hs";
        await BenchServer.CreateSlotsAsync(ds, slot);
        using var worker = BenchWorker.Start(server.ConnectionString(db, ServerCpu.WorkerApplicationName), slot, Publication, options.WorkerArgs);
        await using (var poll = await ds.OpenConnectionAsync())
            await worker.WaitForAsync(poll, slot, db, 0, TimeSpan.FromMinutes(1)); // progress row written: the sink is ready
        await BenchServer.WaitSlotActiveAsync(ds, slot, () => worker.HasExited ? "the worker exited:\n" + worker.RecentLog() : null);
        await Task.Delay(500);

        var driver = new RateDriver(ds, options.LatencyRate, Connections, Total, phase);
        var poller = new StorePoller(ds, Total);
        using var perf = Measure.StartPerf(); // profiling aid (HINDSIGHT_BENCH_PERF): the whole machine while the schedule runs
        var cpu = new CpuWindow(server.Postmaster);
        var server0 = ServerCpu.Take(server.Postmaster);
        var worker0 = worker.CpuSeconds();
        var driving = driver.RunAsync(CancellationToken.None);
        await poller.RunAsync(db, () => driving.IsCompleted, TimeSpan.FromSeconds(30), CancellationToken.None);
        await driving;
        var workerCpu = worker.CpuSeconds() - worker0;
        var split = await ServerCpu.SplitAsync(server0, ServerCpu.Take(server.Postmaster), ds); // the worker's backends still live
        if (perf is not null)
        {
            Proc.Signal(perf.Id, 2); // SIGINT: perf writes its file and exits
            await perf.WaitForExitAsync();
            Console.Error.WriteLine($"[perf] worker pid {worker.Pid}");
        }
        if (worker.HasExited) throw new InvalidOperationException("the worker exited:\n" + worker.RecentLog());
        worker.Stop();
        var (serverCpu, _, foreign) = cpu.Close();
        var load = Proc.LoadAverage().Split(' ')[0];
        await server.WaitSlotsIdleAsync(db);
        await BenchServer.ExecAsync(ds, $"SELECT pg_drop_replication_slot('{slot}')");

        DumpCsv(db, driver, poller);
        var storeTransactions = await server.ScalarAsync<long>(ds,
            "SELECT count(DISTINCT xmin::text) FROM hindsight.changes WHERE database = $1 AND \"table\" = 'lat'", db);
        var latency = new List<double>();
        var fromSchedule = new List<double>();
        var missing = 0;
        for (var i = Warmup; i < Total; i++)
        {
            if (poller.VisibleTicks[i] == 0) { missing++; continue; }
            latency.Add(Ms(poller.VisibleTicks[i] - poller.CommitTicks[i]));
            fromSchedule.Add(Ms(poller.VisibleTicks[i] - driver.Scheduled(i).Ticks));
        }
        var (toWorker, inWorker, storeToSeen) = await StagesAsync(ds, db, poller);
        var (commitP50, commitP99) = await StoreCommitLatencyAsync(ds);
        return Result(run, "hindsight", order, driver, latency, fromSchedule, Stats.Median(poller.PollIntervalsMs), missing,
            workerCpu, serverCpu, foreign, load) with
        {
            StoreTransactions = storeTransactions, WalsenderCpu = split.Walsender, WorkerBackendCpu = split.WorkerBackends,
            ToWorker = toWorker, InWorker = inWorker, StoreToSeen = storeToSeen, StoreCommitP50 = commitP50, StoreCommitP99 = commitP99,
        };
    }

    /// <summary>p50/p99 ms of 300 one-row autocommit inserts into the store database: what one durable commit costs there,
    /// so that the latency can be read against the disk's floor.</summary>
    private static async Task<(double P50, double P99)> StoreCommitLatencyAsync(NpgsqlDataSource ds)
    {
        await BenchServer.ExecAsync(ds, "CREATE TABLE IF NOT EXISTS public.commit_probe (n int)");
        await using var conn = await ds.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("INSERT INTO public.commit_probe VALUES (1)", conn);
        await cmd.PrepareAsync();
        var ms = new List<double>();
        for (var i = 0; i < 300; i++)
        {
            var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            await cmd.ExecuteNonQueryAsync();
            ms.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        var sorted = ms.Order().ToArray();
        return (Stats.Percentile(sorted, 50), Stats.Percentile(sorted, 99));
    }

    /// <summary>The stages of each measured change's latency, from its stored timestamps and the poller's sighting.</summary>
    private async Task<(string ToWorker, string InWorker, string StoreToSeen)> StagesAsync(NpgsqlDataSource ds, string db, StorePoller poller)
    {
        var toWorker = new List<double>();
        var inWorker = new List<double>();
        var storeToSeen = new List<double>();
        await using var cmd = ds.CreateCommand(
            """
            SELECT (after->>'seq')::int, extract(epoch FROM queued_at - committed_at) * 1000,
                   extract(epoch FROM created_at - queued_at) * 1000, created_at
            FROM hindsight.changes WHERE database = $1 AND "table" = 'lat' AND (after->>'seq')::int >= $2
            """);
        cmd.Parameters.AddWithValue(db);
        cmd.Parameters.AddWithValue(Warmup);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            var seq = r.GetInt32(0);
            if (seq >= Total || poller.VisibleTicks[seq] == 0) continue;
            toWorker.Add((double)r.GetDecimal(1));
            inWorker.Add((double)r.GetDecimal(2));
            storeToSeen.Add(Ms(poller.VisibleTicks[seq] - r.GetDateTime(3).Ticks));
        }
        static string P(List<double> v)
        {
            var s = v.Order().ToArray();
            return s.Length == 0 ? "" : FormattableString.Invariant($"{Stats.Percentile(s, 50):0.0}/{Stats.Percentile(s, 99):0.0}");
        }
        return (P(toWorker), P(inWorker), P(storeToSeen));
    }

    private async Task<LatencyRun> RecvAsync(NpgsqlDataSource ds, string db, int run, string order, int phase)
    {
        var slot = $"{db}_rl";
        await BenchServer.CreateSlotsAsync(ds, slot);
        var recv = RecvLogicalProcess.Start(server, db, slot, Publication, toStdout: true);
        var reader = new PgOutputCommits(recv.Output);
        var reading = Task.Factory.StartNew(reader.Run, TaskCreationOptions.LongRunning);
        double recvCpu;
        (double Server, double Bench, double Foreign) cpuUse;
        RateDriver driver;
        try
        {
            await BenchServer.WaitSlotActiveAsync(ds, slot, () => reading.IsFaulted ? reading.Exception!.ToString() : null);
            await Task.Delay(500);
            driver = new RateDriver(ds, options.LatencyRate, Connections, Total, phase);
            var cpu = new CpuWindow(server.Postmaster);
            var recv0 = recv.CpuSeconds ?? 0;
            await driver.RunAsync(CancellationToken.None);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (reader.Count < Total && DateTime.UtcNow < deadline && !reading.IsCompleted) await Task.Delay(10);
            recvCpu = (recv.CpuSeconds ?? double.NaN) - recv0;
            recv.EnsureRunning();
            await recv.StopAsync();
            cpuUse = cpu.Close();
        }
        finally
        {
            await recv.DisposeAsync();
        }
        await reading; // the stream ended with pg_recvlogical; a parse error surfaces here
        var load = Proc.LoadAverage().Split(' ')[0];
        await server.WaitSlotsIdleAsync(db);
        await BenchServer.ExecAsync(ds, $"SELECT pg_drop_replication_slot('{slot}')");

        var from = driver.Scheduled(Warmup).Ticks;
        var latency = reader.Commits.Where(c => c.Commit >= from).Select(c => Ms(c.Arrived - c.Commit)).ToList();
        return Result(run, "pg_recvlogical", order, driver, latency, [], double.NaN, Math.Max(0, Total - Warmup - latency.Count),
            recvCpu, cpuUse.Server, cpuUse.Foreign, load);
    }

    private LatencyRun Result(int run, string consumer, string order, RateDriver driver, List<double> latency, List<double> fromSchedule,
        double pollMs, int missing, double consumerCpu, double serverCpu, double foreign, string load)
    {
        var sorted = latency.Order().ToArray();
        var sched = fromSchedule.Order().ToArray();
        var lag = Enumerable.Range(Warmup, Total - Warmup).Select(i => Ms(driver.SentTicks[i] - driver.Scheduled(i).Ticks)).Order().ToArray();
        // Achieved rate: measured transactions over the time from the first one's due time to the last one's commit returning.
        var span = Ms(driver.ReturnedTicks.Max() - driver.Scheduled(Warmup).Ticks) / 1000;
        return new LatencyRun(run, consumer, order, sorted.Length, (Total - Warmup) / span, Stats.Percentile(lag, 99),
            Stats.Percentile(sorted, 50), Stats.Percentile(sorted, 90), Stats.Percentile(sorted, 99), sorted.Length > 0 ? sorted[^1] : double.NaN,
            Stats.Percentile(sched, 99), sched.Length > 0 ? sched[^1] : double.NaN, pollMs, missing, consumerCpu, serverCpu, foreign, load);
    }

    // Profiling aid: HINDSIGHT_BENCH_LATENCY_CSV=<prefix> writes <prefix><db>.csv, one line per transaction (ms from the
    // schedule's start): seq, due, sent, commit returned, source commit (committed_at), seen in the store.
    private static void DumpCsv(string db, RateDriver driver, StorePoller poller)
    {
        var prefix = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_LATENCY_CSV");
        if (string.IsNullOrEmpty(prefix)) return;
        var t0 = driver.Start.Ticks;
        string At(long ticks) => ticks == 0 ? "" : Ms(ticks - t0).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllLines(prefix + db + ".csv", Enumerable.Range(0, driver.Total).Select(i =>
            $"{i},{At(driver.Scheduled(i).Ticks)},{At(driver.SentTicks[i])},{At(driver.ReturnedTicks[i])},{At(poller.CommitTicks[i])},{At(poller.VisibleTicks[i])}")
            .Prepend("seq,due,sent,returned,committed,seen"));
    }

    private static double Ms(long ticks) => ticks / (double)TimeSpan.TicksPerMillisecond;
}
