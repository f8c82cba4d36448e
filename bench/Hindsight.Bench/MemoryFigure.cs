using System.Diagnostics;
using Hindsight.Capture;
using Hindsight.Tests.Infrastructure;
using Hindsight.Worker;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// Figure 2: the worker's peak RSS (VmHWM) while it captures one large transaction (target &lt; 256 MiB),
/// attached while the transaction is written, and catching up the same transaction as a backlog.
/// </summary>
internal sealed class MemoryFigure(BenchServer server, BenchOptions options)
{
    private const string Publication = "bench_pub";
    private const double TargetMiB = 256;

    private sealed record Result(string Variant, long Changes, long Stored, double WriteSeconds, double CatchUpSeconds,
        double TotalSeconds, double IdleRssMiB, double PeakRssMiB, double CpuSeconds, double StartToStreaming);

    public async Task<string> RunAsync()
    {
        var results = new List<Result>();
        foreach (var attached in new[] { true, false })
        {
            var r = await RunOnceAsync(attached);
            results.Add(r);
            Console.Error.WriteLine($"[memory]   {r.Variant}: {r.Changes:N0} changes, peak RSS {r.PeakRssMiB:0.0} MiB, total {r.TotalSeconds:0.0}s");
        }
        var t = new TextTable("variant", "changes", "write s", "caught up after s", "worker total s", "start->streaming s", "RSS idle MiB",
            "peak RSS (VmHWM) MiB", "target < 256 MiB", "worker CPU s", "stored");
        foreach (var r in results)
            t.Add(r.Variant, r.Changes, r.WriteSeconds, r.CatchUpSeconds, r.TotalSeconds, r.StartToStreaming, r.IdleRssMiB, r.PeakRssMiB,
                r.PeakRssMiB < TargetMiB ? "met" : "NOT met", r.CpuSeconds, r.Stored == r.Changes ? "all" : $"{r.Stored:N0} (MISMATCH)");
        foreach (var r in results)
            Scorecard.Add($"memory: worker peak RSS, one {options.MemoryRows:N0}-row transaction, {r.Variant}",
                FormattableString.Invariant($"{r.PeakRssMiB:0.0} MiB"), $"< {TargetMiB:0} MiB", r.PeakRssMiB < TargetMiB);
        return $"\nmemory: one transaction, INSERT ... SELECT of {options.MemoryRows:N0} rows (logical_decoding_work_mem={server.WorkMem}: " +
               "PostgreSQL streams it to the worker in parts before it commits)\n" +
               "  attached: worker running while the transaction is written; 'caught up after' counts from the end of the write\n" +
               "  backlog:  transaction written with no worker; 'caught up after' counts from the worker's start\n" +
               "  RSS idle: the worker's RSS once it is streaming from the slot, before the transaction starts (attached only)\n" + t;
    }

    private async Task<Result> RunOnceAsync(bool attached)
    {
        var variant = attached ? "attached" : "backlog";
        var db = $"mem_{variant}";
        var slot = $"{db}_hs";
        var workload = new LargeTransaction(options.MemoryRows);
        Console.Error.WriteLine($"[memory] {variant}: {workload.Description}");
        await server.CreateDatabaseAsync(db);
        try
        {
            await using var ds = server.DataSource(db);
            await using var conn = await ds.OpenConnectionAsync();
            await using var poll = await ds.OpenConnectionAsync();
            await workload.PrepareAsync(conn);
            await BenchServer.SetupCaptureAsync(ds, Publication);
            await BenchServer.CreateSlotsAsync(ds, slot);
            await Workload.FlushStatsAsync(conn);
            var before = await BenchServer.RowChangesAsync(ds, Workload.Table);
            var workerConn = server.ConnectionString(db, ServerCpu.WorkerApplicationName);

            WorkerProcess? worker = null;
            try
            {
                double idleRss = double.NaN, write, catchUp, total, startToStreaming = double.NaN;
                Stopwatch sinceStart;
                if (attached)
                {
                    worker = BenchWorker.Start(workerConn, slot, Publication, options.WorkerArgs);
                    sinceStart = Stopwatch.StartNew();
                    // Ready: the worker is streaming from the slot and has recorded its progress row.
                    await worker.WaitForAsync(poll, slot, db, 0, TimeSpan.FromMinutes(1));
                    await WaitSlotActiveAsync(ds, slot, worker);
                    startToStreaming = sinceStart.Elapsed.TotalSeconds;
                    await Task.Delay(500);
                    idleRss = worker.RssMiB();
                    var sw = Stopwatch.StartNew();
                    await workload.RunAsync(conn);
                    write = sw.Elapsed.TotalSeconds;
                    var marker = await CatchUp.MarkAsync(ds);
                    var afterWrite = Stopwatch.StartNew();
                    await worker.WaitForAsync(poll, slot, db, marker, TimeSpan.FromMinutes(20));
                    catchUp = afterWrite.Elapsed.TotalSeconds;
                    total = sinceStart.Elapsed.TotalSeconds;
                }
                else
                {
                    var sw = Stopwatch.StartNew();
                    await workload.RunAsync(conn);
                    write = sw.Elapsed.TotalSeconds;
                    var marker = await CatchUp.MarkAsync(ds);
                    await BenchServer.ExecAsync(ds, "CHECKPOINT");
                    worker = BenchWorker.Start(workerConn, slot, Publication, options.WorkerArgs);
                    sinceStart = Stopwatch.StartNew();
                    await worker.WaitForAsync(poll, slot, db, marker, TimeSpan.FromMinutes(20));
                    catchUp = total = sinceStart.Elapsed.TotalSeconds;
                }
                var peak = worker.PeakRssMiB;
                var cpu = worker.CpuSeconds();
                worker.Stop();
                await Workload.FlushStatsAsync(conn);
                var changes = await BenchServer.RowChangesAsync(ds, Workload.Table) - before;
                var stored = await server.ScalarAsync<long>(ds, "SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'items'");
                return new Result(variant, changes, stored, write, catchUp, total, idleRss, peak, cpu, startToStreaming);
            }
            finally
            {
                worker?.Dispose();
            }
        }
        finally
        {
            if (!options.Keep) await server.DropDatabaseAsync(db);
        }
    }

    private static async Task WaitSlotActiveAsync(NpgsqlDataSource ds, string slot, WorkerProcess worker)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            await using var cmd = ds.CreateCommand("SELECT active FROM pg_replication_slots WHERE slot_name = $1");
            cmd.Parameters.AddWithValue(slot);
            if (await cmd.ExecuteScalarAsync() is true) return;
            if (worker.HasExited) throw new InvalidOperationException("the worker exited:\n" + worker.RecentLog());
            await Task.Delay(20);
        }
        throw new TimeoutException("the worker did not start streaming:\n" + worker.RecentLog());
    }
}
