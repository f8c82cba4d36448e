using System.Diagnostics;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>The worker's result on one backlog.</summary>
internal sealed record HindsightResult(double Seconds, double StartToFirst, double FirstToCaughtUp,
    double PeakRssMiB, double CpuSeconds, CpuSplit ServerCpu, long StoreTransactions, double FirstInsertToCaughtUp,
    double ForeignCpuSeconds);

/// <summary>Timed consumers of a slot's backlog up to a marker LSN.</summary>
internal static class Measure
{
    private static readonly TimeSpan WorkerTimeout = TimeSpan.FromMinutes(20);

    /// <summary>Profiling aid: HINDSIGHT_BENCH_PERF=&lt;perf.data&gt; records the whole machine with perf (stop it with SIGINT).</summary>
    public static Process? StartPerf()
    {
        var file = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_PERF");
        if (string.IsNullOrEmpty(file)) return null;
        var psi = new ProcessStartInfo { FileName = "perf", UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in (string[])["record", "-e", "cpu-clock", "-F", "999", "-a", "-g", "-o", file]) psi.ArgumentList.Add(a);
        var p = Process.Start(psi);
        p?.StandardOutput.ReadToEndAsync();
        p?.StandardError.ReadToEndAsync();
        Thread.Sleep(300);
        return p;
    }

    private static async Task<string> DescribeBackendsAsync(NpgsqlDataSource ds)
    {
        await using var cmd = ds.CreateCommand(
            "SELECT string_agg(pid || '=' || backend_type || coalesce('/' || nullif(application_name, ''), ''), ', ') FROM pg_stat_activity");
        return (string)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>pg_recvlogical from its start until it exits at the marker; server CPU in between.</summary>
    public static async Task<(double Seconds, CpuSplit Cpu, double ForeignCpu)> RecvAsync(BenchServer server, NpgsqlDataSource ds, string db, string slot,
        string publication, ulong marker)
    {
        await BenchServer.ExecAsync(ds, "CHECKPOINT");
        var s0 = ServerCpu.Take(server.Postmaster);
        var m0 = Proc.MachineBusySeconds();
        var seconds = await server.RecvLogicalAsync(db, slot, publication, marker);
        var m1 = Proc.MachineBusySeconds();
        var s1 = ServerCpu.Take(server.Postmaster);
        await server.WaitSlotsIdleAsync(db);
        var s2 = ServerCpu.Take(server.Postmaster); // the walsender has exited: its CPU is in the reaped total
        // Foreign CPU: what the machine spent on anything but this server while pg_recvlogical ran (includes pg_recvlogical itself).
        return (seconds, await ServerCpu.SplitAsync(s0, s2, ds), Math.Max(0, m1 - m0 - (s1.Total - s0.Total)));
    }

    /// <summary>
    /// The worker process from its start until <c>hindsight.progress.last_commit_lsn</c> reaches the marker (polled
    /// every 10 ms); its peak RSS and CPU, the server's CPU, and when the first change was read (min queued_at).
    /// </summary>
    /// <param name="storeDb">A store database other than the source (<c>--store</c>), or null for the default (the source).</param>
    /// <param name="storeServer">The server of <paramref name="storeDb"/> when it is not <paramref name="server"/>: its
    /// CPU is counted with the worker's backends.</param>
    public static async Task<HindsightResult> HindsightAsync(BenchServer server, NpgsqlDataSource ds, string db, string slot,
        string publication, ulong marker, string[] workerArgs, string? storeDb = null, BenchServer? storeServer = null)
    {
        await BenchServer.ExecAsync(ds, "CHECKPOINT");
        var storeAt = storeServer ?? server;
        await using var storeDs = storeDb is null ? null : storeAt.DataSource(storeDb);
        await using var poll = await (storeDs ?? ds).OpenConnectionAsync();
        string[] args = storeDb is null ? workerArgs : [.. workerArgs, "--store", storeAt.ConnectionString(storeDb, ServerCpu.WorkerApplicationName)];
        var store0 = storeServer is null ? null : ServerCpu.Take(storeServer.Postmaster);
        // Profiling aid: HINDSIGHT_BENCH_PERF=<perf.data> records the whole machine with perf while the worker runs.
        using var perf = StartPerf();
        var s0 = ServerCpu.Take(server.Postmaster);
        var m0 = Proc.MachineBusySeconds();
        var startUtc = DateTime.UtcNow;
        var sw = Stopwatch.StartNew();
        using var worker = BenchWorker.Start(server.ConnectionString(db, ServerCpu.WorkerApplicationName), slot, publication, args);
        await worker.WaitForAsync(poll, slot, db, marker, WorkerTimeout);
        var seconds = sw.Elapsed.TotalSeconds;
        var caughtUpUtc = DateTime.UtcNow;
        var rss = worker.PeakRssMiB;
        var cpu = worker.CpuSeconds();
        var m1 = Proc.MachineBusySeconds();
        var s1 = ServerCpu.Take(server.Postmaster);
        var split = await ServerCpu.SplitAsync(s0, s1, ds);
        if (storeServer is not null) // everything the store server did is the worker's store writing
            split = split with { Total = split.Total + (ServerCpu.Take(storeServer.Postmaster).Total - store0!.Total),
                WorkerBackends = split.WorkerBackends + (ServerCpu.Take(storeServer.Postmaster).Total - store0.Total) };
        if (perf is not null)
        {
            Proc.Signal(perf.Id, 2); // SIGINT: perf writes its file and exits
            await perf.WaitForExitAsync();
            Console.Error.WriteLine($"[perf] worker pid {worker.Pid}; server processes: " + await DescribeBackendsAsync(ds));
        }
        worker.Stop();

        // Store transactions that wrote changes: distinct xmin of the stored rows. created_at: when each row was inserted.
        await using var cmd = new NpgsqlCommand(
            "SELECT min(queued_at), count(DISTINCT xmin::text), min(created_at) FROM hindsight.changes WHERE database = $1", poll);
        cmd.Parameters.AddWithValue(db);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        var first = r.IsDBNull(0) ? caughtUpUtc : r.GetDateTime(0);
        var storeTransactions = r.GetInt64(1);
        var firstInsert = r.IsDBNull(2) ? caughtUpUtc : r.GetDateTime(2);
        return new HindsightResult(seconds, (first - startUtc).TotalSeconds, (caughtUpUtc - first).TotalSeconds, rss, cpu, split,
            storeTransactions, (caughtUpUtc - firstInsert).TotalSeconds, Math.Max(0, m1 - m0 - split.Total - cpu));
    }
}
