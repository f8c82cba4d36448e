using System.Diagnostics;
using Hindsight.Queue;
using Hindsight.Store;
using Hindsight.Tests.Infrastructure;
using Hindsight.Worker;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// Figure "queue": the scale path through a JetStream server this figure starts (Debian's nats-server, file storage).
/// Capture into the queue against the direct path on the same WAL (target at least 0.9x); the drain rate of a full
/// queue with 1, 2 and 4 ingesters, with their CPU per change; commit-to-queryable latency through capture, queue and
/// one ingester at a steady rate (target p99 at most 50 ms); the processes' peak memory.
/// </summary>
internal sealed class QueueFigure(BenchServer server, BenchOptions options)
{
    private const string Publication = "bench_pub";
    private const double TargetCaptureRatio = 0.9;
    private const double TargetP99Ms = 50;
    private const int WarmupSeconds = 5;
    private static readonly int[] IngesterCounts = [1, 2, 4];

    private sealed record CaptureRun(int Run, string Order, long Changes, double DirectSeconds, double QueueSeconds, double DirectCpu, double QueueCpu,
        double DirectRssMiB, double QueueRssMiB)
    {
        public double Ratio => DirectSeconds / QueueSeconds;
    }

    /// <summary>One drain. Rate and CPU are from the first stored message to the empty stream (the processes' start-up
    /// and connecting left out), over the changes drained in that time; <see cref="Seconds"/> is from their start.</summary>
    private sealed record IngestRun(int Run, int Ingesters, long Changes, double Seconds, double DrainSeconds, double DrainedChanges,
        double CpuSeconds, double PeakRssMiB, double StoreServerCpu)
    {
        public double Rate => DrainedChanges / DrainSeconds;
        public double CpuPer100k => CpuSeconds * 100_000 / DrainedChanges;
    }

    public async Task<string> RunAsync()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var connection = new NatsConnection(new NatsOpts { Url = nats.Urls[0] });
        var js = new NatsJSContext(connection);
        var captures = new List<CaptureRun>();
        var ingests = new List<IngestRun>();
        for (var r = 1; r <= options.Runs && options.QueueParts.Contains("capture"); r++)
        {
            var (capture, filled) = await CaptureRunAsync(nats, js, r);
            captures.Add(capture);
            Console.Error.WriteLine($"[queue]   run {r} capture ({capture.Order}): {capture.Changes:N0} changes; direct {capture.DirectSeconds:0.00}s, " +
                                    $"queue {capture.QueueSeconds:0.00}s, ratio {capture.Ratio:0.00}");
            foreach (var (ingesters, stream, db) in filled)
            {
                var ingest = await IngestRunAsync(nats, r, ingesters, stream, db, capture.Changes);
                ingests.Add(ingest);
                Console.Error.WriteLine($"[queue]   run {r} ingest x{ingesters}: {ingest.Rate:N0} changes/s, {ingest.CpuPer100k:0.00} CPU s/100k");
            }
        }
        var latency = new List<LatencyRun>();
        // The direct path's latency in the same runs, order alternating, as the machine's own baseline of the hour.
        for (var r = 1; r <= options.Runs && options.QueueParts.Contains("latency"); r++)
            foreach (var viaQueue in r % 2 == 1 ? new[] { true, false } : [false, true])
            {
                var run = await LatencyRunAsync(nats, r, viaQueue);
                latency.Add(run);
                Console.Error.WriteLine($"[queue]   run {r} latency ({run.Consumer}): p50 {run.P50:0.0} p99 {run.P99:0.0} max {run.Max:0.0} ms, {run.AchievedTps:N0} tx/s");
            }
        return Report(captures, ingests, latency);
    }

    /// <summary>
    /// One database, the small workload written with no consumer attached, then read from slots created at the same
    /// point: the direct worker into the store, and a worker into each of four streams (the first timed against the
    /// direct one, order alternating by run; the other three fill streams for the ingest runs).
    /// </summary>
    private async Task<(CaptureRun, List<(int Ingesters, string Stream, string Db)>)> CaptureRunAsync(NatsCluster nats, INatsJSContext js, int run)
    {
        var db = $"q_cap_{run}";
        long before0;
        await server.CreateDatabaseAsync(db);
        await using var ds = server.DataSource(db);
        var w = new SmallTransactions(options.SmallTransactions);
        await using (var conn = await ds.OpenConnectionAsync())
        {
            await w.PrepareAsync(conn);
            await BenchServer.SetupCaptureAsync(ds, Publication);
            string[] slots = ["q_direct", "q_timed", .. IngesterCounts.Select(n => $"q_fill_{n}")];
            await BenchServer.CreateSlotsAsync(ds, slots.Select(s => $"{db}_{s}").ToArray());
            await Workload.FlushStatsAsync(conn);
            before0 = await BenchServer.RowChangesAsync(ds, Workload.Table);
            await w.RunAsync(conn);
        }
        var before = await server.ScalarAsync<string>(ds, "SELECT pg_current_wal_lsn()::text");
        await BenchServer.ExecAsync(ds, "UPDATE public.items SET n = n + 1 WHERE id = (SELECT min(id) FROM public.items)"); // the last change
        var lastChange = (ulong)NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(before);
        var marker = await CatchUp.MarkAsync(ds);
        var changes = await ChangesAsync(ds) - before0;

        var directFirst = run % 2 == 1;
        (double Seconds, double Cpu, double Rss) direct = default, queued = default;
        for (var phase = 0; phase < 2; phase++)
        {
            if (phase == 0 == directFirst)
            {
                var hs = await Measure.HindsightAsync(server, ds, db, $"{db}_q_direct", Publication, marker, options.WorkerArgs);
                direct = (hs.Seconds, hs.CpuSeconds, hs.PeakRssMiB);
            }
            else queued = await CaptureIntoAsync(nats, js, ds, db, $"{db}_q_timed", $"bq{run}t", lastChange);
        }
        var filled = new List<(int, string, string)>();
        foreach (var n in IngesterCounts)
        {
            var stream = $"bq{run}i{n}";
            await CaptureIntoAsync(nats, js, ds, db, $"{db}_q_fill_{n}", stream, lastChange);
            filled.Add((n, stream, db));
        }
        return (new CaptureRun(run, directFirst ? "direct,queue" : "queue,direct", changes, direct.Seconds, queued.Seconds, direct.Cpu, queued.Cpu,
            direct.Rss, queued.Rss), filled);
    }

    private static async Task<long> ChangesAsync(NpgsqlDataSource ds)
    {
        await using var conn = await ds.OpenConnectionAsync();
        await Workload.FlushStatsAsync(conn);
        return await BenchServer.RowChangesAsync(ds, Workload.Table);
    }

    /// <summary>Runs <c>hindsight run --nats</c> on <paramref name="slot"/> into a new stream until the stream holds the last
    /// change (a transaction committed after <paramref name="lastChange"/>): from the process's start, as the direct worker is timed.</summary>
    private async Task<(double Seconds, double Cpu, double Rss)> CaptureIntoAsync(NatsCluster nats, INatsJSContext js, NpgsqlDataSource ds, string db,
        string slot, string stream, ulong lastChange)
    {
        await JetStreamSetup.RunAsync(new JetStreamQueueOptions { Urls = nats.Urls, Stream = stream });
        await BenchServer.ExecAsync(ds, "CHECKPOINT");
        var sw = Stopwatch.StartNew();
        using var worker = BenchWorker.Start(server.ConnectionString(db, ServerCpu.WorkerApplicationName), slot, Publication,
            [.. options.WorkerArgs, "--nats", nats.Urls[0], "--stream", stream]);
        var subject = $"{stream}.changes.>";
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (true)
        {
            try
            {
                var s = await js.GetStreamAsync(stream);
                var last = await s.GetAsync(new StreamMsgGetRequest { LastBySubj = $"{stream}.changes.{db}" });
                if (last.Message.Hdrs is { } raw && CommitLsnOf(raw) > lastChange) break;
            }
            catch (NatsJSApiException) { /* nothing queued yet */ }
            if (worker.HasExited) throw new InvalidOperationException("the worker exited:\n" + worker.RecentLog());
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"capture into {subject} did not finish:\n" + worker.RecentLog());
            await Task.Delay(10);
        }
        var seconds = sw.Elapsed.TotalSeconds;
        var cpu = worker.CpuSeconds();
        var rss = worker.PeakRssMiB;
        worker.Stop();
        await server.WaitSlotsIdleAsync(db);
        return (seconds, cpu, rss);
    }

    /// <summary>The commit LSN in a stored message's raw headers (base64 of the NATS/1.0 header block).</summary>
    private static ulong CommitLsnOf(string rawHeaders)
    {
        var text = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(rawHeaders));
        foreach (var line in text.Split("\r\n"))
            if (line.StartsWith("Hindsight-Last-Commit-Lsn:", StringComparison.Ordinal))
                return ulong.Parse(line["Hindsight-Last-Commit-Lsn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>Starts <paramref name="ingesters"/> ingesters on a full stream and times the drain into a fresh store.</summary>
    private async Task<IngestRun> IngestRunAsync(NatsCluster nats, int run, int ingesters, string stream, string sourceDb, long changes)
    {
        var storeDb = $"q_store_{run}_{ingesters}";
        await server.CreateDatabaseAsync(storeDb);
        try
        {
            await using var storeDs = server.DataSource(storeDb);
            await StoreMigrations.ApplyAsync(storeDs);
            await BenchServer.ExecAsync(storeDs, "CHECKPOINT");
            var s0 = ServerCpu.Take(server.Postmaster);
            var sw = Stopwatch.StartNew();
            var processes = Enumerable.Range(0, ingesters).Select(_ => WorkerProcess.StartCommand("ingest",
                ["--nats", nats.Urls[0], "--stream", stream, "--store", server.ConnectionString(storeDb, ServerCpu.WorkerApplicationName)])).ToList();
            try
            {
                await using var connection = new NatsConnection(new NatsOpts { Url = nats.Urls[0] });
                var js = new NatsJSContext(connection);
                var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
                var initial = (await js.GetStreamAsync(stream)).Info.State.Messages;
                double? firstAt = null, cpuAtFirst = null, serverAtFirst = null;
                long left;
                while ((left = (await js.GetStreamAsync(stream)).Info.State.Messages) > 0)
                {
                    if (firstAt is null && left < initial)
                    {
                        firstAt = sw.Elapsed.TotalSeconds;
                        cpuAtFirst = processes.Sum(p => p.CpuSeconds());
                        serverAtFirst = ServerCpu.Take(server.Postmaster).Total;
                        initial = left; // what remains from here is what the rate is measured on
                    }
                    if (processes.FirstOrDefault(p => p.HasExited) is { } dead) throw new InvalidOperationException("an ingester exited:\n" + dead.RecentLog());
                    if (DateTime.UtcNow > deadline) throw new TimeoutException("the ingesters did not drain the stream");
                    await Task.Delay(10);
                }
                var seconds = sw.Elapsed.TotalSeconds;
                var messages = (await js.GetStreamAsync(stream)).Info.State.LastSeq;
                var drained = firstAt is null ? changes : (double)changes * initial / messages;
                var cpu = processes.Sum(p => p.CpuSeconds()) - (cpuAtFirst ?? 0);
                var rss = processes.Max(p => p.PeakRssMiB);
                var serverCpu = ServerCpu.Take(server.Postmaster).Total - (serverAtFirst ?? s0.Total);
                var stored = await server.ScalarAsync<long>(storeDs, "SELECT count(*) FROM hindsight.changes");
                if (stored != changes) throw new InvalidOperationException($"the ingesters stored {stored:N0} of {changes:N0} changes");
                await connection.DisposeAsync();
                return new IngestRun(run, ingesters, changes, seconds, seconds - (firstAt ?? 0), drained, cpu, rss, serverCpu);
            }
            finally
            {
                foreach (var p in processes) { p.Stop(); p.Dispose(); }
            }
        }
        finally
        {
            if (!options.Keep) await server.DropDatabaseAsync(storeDb);
        }
    }

    /// <summary>Commit to queryable at the latency figure's steady rate: through capture, the queue and one ingester, or
    /// (<paramref name="viaQueue"/> false) through the direct worker.</summary>
    private async Task<LatencyRun> LatencyRunAsync(NatsCluster nats, int run, bool viaQueue)
    {
        var db = $"q_lat_{run}_{(viaQueue ? "queue" : "direct")}";
        var stream = $"bql{run}";
        await server.CreateDatabaseAsync(db);
        try
        {
            await using var ds = server.DataSource(db);
            await BenchServer.ExecAsync(ds, RateDriver.Schema);
            await BenchServer.ExecAsync(ds, $"VACUUM ANALYZE {RateDriver.Table}");
            await BenchServer.SetupCaptureAsync(ds, Publication);
            var slot = $"{db}_q";
            await BenchServer.CreateSlotsAsync(ds, slot);
            if (viaQueue) await JetStreamSetup.RunAsync(new JetStreamQueueOptions { Urls = nats.Urls, Stream = stream });
            using var worker = BenchWorker.Start(server.ConnectionString(db, ServerCpu.WorkerApplicationName), slot, Publication,
                viaQueue ? [.. options.WorkerArgs, "--nats", nats.Urls[0], "--stream", stream] : options.WorkerArgs);
            using var ingester = viaQueue ? WorkerProcess.StartCommand("ingest", ["--nats", nats.Urls[0], "--stream", stream, "--store", server.ConnectionString(db)]) : null;
            await BenchServer.WaitSlotActiveAsync(ds, slot, () => worker.HasExited ? "the worker exited:\n" + worker.RecentLog() : null);
            await Task.Delay(1500);

            var total = options.LatencyRate * (WarmupSeconds + options.LatencySeconds);
            var warmup = options.LatencyRate * WarmupSeconds;
            var driver = new RateDriver(ds, options.LatencyRate, 4, total, 0);
            var poller = new StorePoller(ds, total);
            var worker0 = worker.CpuSeconds();
            var ingester0 = ingester?.CpuSeconds() ?? 0;
            var driving = driver.RunAsync(CancellationToken.None);
            await poller.RunAsync(db, () => driving.IsCompleted, TimeSpan.FromSeconds(30), CancellationToken.None);
            await driving;
            var consumerCpu = worker.CpuSeconds() - worker0 + ((ingester?.CpuSeconds() ?? 0) - ingester0);
            if (worker.HasExited) throw new InvalidOperationException("the worker exited:\n" + worker.RecentLog());
            if (ingester is { HasExited: true }) throw new InvalidOperationException("the ingester exited:\n" + ingester.RecentLog());
            var rss = ingester is null ? $"{worker.PeakRssMiB:0}/-" : $"{worker.PeakRssMiB:0}/{ingester.PeakRssMiB:0}";
            worker.Stop();
            ingester?.Stop();
            await server.WaitSlotsIdleAsync(db);

            var latency = new List<double>();
            var missing = 0;
            for (var i = warmup; i < total; i++)
            {
                if (poller.VisibleTicks[i] == 0) { missing++; continue; }
                latency.Add(TimeSpan.FromTicks(poller.VisibleTicks[i] - poller.CommitTicks[i]).TotalMilliseconds);
            }
            var sorted = latency.Order().ToArray();
            // Measured transactions over the time from the first one's due time to the last one's commit returning.
            var achieved = (total - warmup) / TimeSpan.FromTicks(driver.ReturnedTicks.Max() - driver.Scheduled(warmup).Ticks).TotalSeconds;
            return new LatencyRun(run, viaQueue ? "queue" : "direct", run % 2 == 1 ? "queue,direct" : "direct,queue", latency.Count, achieved, double.NaN, Stats.Percentile(sorted, 50), Stats.Percentile(sorted, 90),
                Stats.Percentile(sorted, 99), sorted.Length == 0 ? double.NaN : sorted[^1], double.NaN, double.NaN, Stats.Median(poller.PollIntervalsMs),
                missing, consumerCpu, double.NaN, double.NaN, rss);
        }
        finally
        {
            if (!options.Keep) await server.DropDatabaseAsync(db);
        }
    }

    private string Report(List<CaptureRun> captures, List<IngestRun> ingests, List<LatencyRun> latency)
    {
        var c = new TextTable("run", "order", "changes", "direct s", "queue s", "ratio", "direct CPU s", "queue CPU s", "direct RSS MiB", "queue RSS MiB");
        foreach (var r in captures)
            c.Add(r.Run, r.Order, r.Changes, r.DirectSeconds, r.QueueSeconds, r.Ratio, r.DirectCpu, r.QueueCpu, r.DirectRssMiB, r.QueueRssMiB);
        var ratio = Stats.Median(captures.Select(r => r.Ratio));
        if (captures.Count > 0)
            Scorecard.Add("queue: capture into JetStream / the direct path, same WAL", FormattableString.Invariant(
            $"{ratio:0.00} (runs {Scorecard.Runs(captures.Select(r => r.Ratio), "0.00")})"), FormattableString.Invariant($">= {TargetCaptureRatio:0.0}"), ratio >= TargetCaptureRatio);

        var i = new TextTable("ingesters", "runs", "changes/s", "runs changes/s", "ingester CPU s/100k", "store server CPU s/100k", "peak RSS MiB (one)", "speed-up vs 1");
        var one = Stats.Median(ingests.Where(x => x.Ingesters == 1).Select(x => x.Rate));
        foreach (var g in ingests.GroupBy(x => x.Ingesters).OrderBy(g => g.Key))
        {
            var rate = Stats.Median(g.Select(x => x.Rate));
            i.Add(g.Key, g.Count(), rate, string.Join(" ", g.Select(x => x.Rate.ToString("N0", System.Globalization.CultureInfo.InvariantCulture))),
                Stats.Median(g.Select(x => x.CpuPer100k)), Stats.Median(g.Select(x => x.StoreServerCpu * 100_000 / x.DrainedChanges)), g.Max(x => x.PeakRssMiB), rate / one);
            Scorecard.Add($"queue: ingest with {g.Key} ingester{(g.Key == 1 ? "" : "s")} (2 cores)", FormattableString.Invariant(
                $"{rate:N0} changes/s; {Stats.Median(g.Select(x => x.CpuPer100k)):0.00} ingester CPU s per 100,000"), "reported", true);
        }
        var perChangeCpu = Stats.Median(ingests.Where(x => x.Ingesters == 1).Select(x => (x.CpuSeconds + x.StoreServerCpu) / x.DrainedChanges));

        var l = new TextTable("run", "path", "order", "measured tx", "achieved tx/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "missing", "worker+ingester CPU s", "peak RSS MiB worker/ingester");
        foreach (var r in latency.OrderBy(r => r.Consumer).ThenBy(r => r.Run))
            l.Add(r.Run, r.Consumer, r.Order, r.Measured, r.AchievedTps, r.P50, r.P90, r.P99, r.Max, r.Missing, r.ConsumerCpu, r.Load);
        var direct = latency.Where(r => r.Consumer == "direct").ToList();
        latency = latency.Where(r => r.Consumer == "queue").ToList();
        var worst = latency.Count == 0 ? double.NaN : latency.Max(r => r.P99);
        if (latency.Count > 0)
            Scorecard.Add($"queue: p99 commit -> queryable at {options.LatencyRate:N0} tx/s through JetStream, worst of {latency.Count} runs",
            FormattableString.Invariant($"{worst:0.0} ms (runs {Scorecard.Runs(latency.Select(r => r.P99), "0.0")}; the direct path in the same runs: {Scorecard.Runs(direct.Select(r => r.P99), "0.0")})"),
            $"<= {TargetP99Ms:0} ms in every run", worst <= TargetP99Ms);
        var rss = captures.Count == 0 ? double.NaN : captures.Max(r => r.QueueRssMiB);
        if (captures.Count > 0)
            Scorecard.Add("queue: worker peak RSS capturing a backlog into JetStream", FormattableString.Invariant($"{rss:0} MiB (direct: {captures.Max(r => r.DirectRssMiB):0} MiB)"),
            "bounded, reported", true);

        return $"\nqueue: one nats-server (file storage, 1 replica) on this machine; small workload ({options.SmallTransactions:N0} transactions x 5 row changes)\n" +
               "capture: the same WAL read from slots created at the same point, by the direct worker (into the store) and by 'run --nats'\n" +
               "  (into a new stream), each timed from its process's start until the store (direct) or the stream (queue) holds the last change;\n" +
               "  ratio = direct seconds / queue seconds, target >= 0.9; order alternating by run\n" + c +
               "\ningest: a stream holding the whole workload drained by N 'hindsight ingest' processes into a fresh store database\n" +
               "  (every change stored once, checked by count). Rate and CPU from the first stored message to the empty stream, over\n" +
               "  the changes drained then: the processes' start-up and connecting are left out. Store server CPU: the whole server's.\n" + i +
               FormattableString.Invariant($"  on paper: with one ingester, {perChangeCpu * 1e6:0} µs of CPU per change (ingester and store server together) is ") +
               FormattableString.Invariant($"{1 / perChangeCpu:N0} changes/s per core; with the store's disk and indexes not the limit, N ingesters on N spare cores scale close to that.\n") +
               $"\nlatency through the queue: {options.LatencyRate:N0} tx/s scheduled (one INSERT or UPDATE each, 4 connections), {WarmupSeconds}s warm-up,\n" +
               $"  {options.LatencySeconds}s measured; queue: worker 'run --nats' and one ingester; direct: the worker alone, the same runs, order\n" +
               "  alternating; commit -> queryable as in the latency figure\n" + l;
    }
}
