using System.Diagnostics;
using Hindsight.Tests.Infrastructure;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// How the bench runs the capture worker (<see cref="WorkerProcess"/>, the tests' own, compiled in here too): with the
/// bench's environment and core, under a tracer or with counters on request, and what the bench reads of it.
/// </summary>
internal static class BenchWorker
{
    /// <summary>Environment variables added to the worker's (e.g. runtime knobs for experiments).</summary>
    public static IReadOnlyDictionary<string, string> ExtraEnvironment { get; set; } = new Dictionary<string, string>();

    /// <summary>The core every worker runs on (<c>cost --split-cpus</c>), or null for any.</summary>
    public static int? Cpu { get; set; }

    /// <summary>The worker's niceness (<c>--worker-nice</c>), or null to run it at the bench's own priority.</summary>
    public static int? Nice { get; set; }

    /// <summary>Starts <c>hindsight run</c> on one slot and publication.</summary>
    public static WorkerProcess Start(string sourceConnectionString, string slot, string publication, params string[] extra)
    {
        // Profiling aid: HINDSIGHT_BENCH_TRACE=<file.nettrace> runs the worker under dotnet-trace (CPU sampling).
        var trace = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_TRACE");
        var worker = WorkerProcess.Start(["--source", sourceConnectionString, "--slot", slot, "--publication", publication, .. extra], psi =>
        {
            foreach (var (k, v) in ExtraEnvironment) psi.Environment[k] = v;
            if (!string.IsNullOrEmpty(trace))
            {
                string[] tracer = ["collect", "--profile", "dotnet-sampled-thread-time", "--format", "Speedscope", "-o", trace, "--", psi.FileName];
                for (var i = tracer.Length - 1; i >= 0; i--) psi.ArgumentList.Insert(0, tracer[i]);
                psi.FileName = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_DOTNET_TRACE") ?? "dotnet-trace";
            }
            if (Nice is { } nice)
            {
                // nice execs the worker in its own process: the pid, and what /proc says of it, stay the worker's.
                string[] prefix = ["-n", nice.ToString(System.Globalization.CultureInfo.InvariantCulture), psi.FileName];
                for (var i = prefix.Length - 1; i >= 0; i--) psi.ArgumentList.Insert(0, prefix[i]);
                psi.FileName = "nice";
            }
            return psi.OnCpu(Cpu);
        }, string.IsNullOrEmpty(trace) ? null : TracedWorker);
        // Profiling aid: HINDSIGHT_BENCH_COUNTERS=<file.csv> records the worker's System.Runtime counters (GC, allocation) each second.
        var counters = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_COUNTERS");
        if (!string.IsNullOrEmpty(counters) && string.IsNullOrEmpty(trace))
        {
            var c = new ProcessStartInfo
            {
                FileName = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_DOTNET_COUNTERS") ?? "dotnet-counters",
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in (string[])["collect", "-p", worker.Pid.ToString(), "--format", "csv", "-o", counters,
                         "--refresh-interval", "1", "--counters", "System.Runtime"])
                c.ArgumentList.Add(a);
            var collector = Process.Start(c);
            collector?.StandardOutput.ReadToEndAsync();
            collector?.StandardError.ReadToEndAsync();
        }
        return worker;
    }

    /// <summary>The worker dotnet-trace started: its first child.</summary>
    private static int TracedWorker(Process tracer)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (Proc.Children(tracer.Id) is [var child, ..]) return child;
            Thread.Sleep(10);
        }
        tracer.Kill(entireProcessTree: true);
        throw new InvalidOperationException("dotnet-trace did not start the worker");
    }

    /// <summary>Current resident set size (VmRSS), MiB.</summary>
    public static double RssMiB(this WorkerProcess worker) => (Proc.StatusKiB(worker.Pid, "VmRSS") ?? 0) / 1024.0;

    /// <summary>User + system CPU seconds so far.</summary>
    public static double CpuSeconds(this WorkerProcess worker) => Proc.CpuSeconds(worker.Pid) ?? double.NaN;

    /// <summary>The last 40 lines the worker printed, for error messages.</summary>
    public static string RecentLog(this WorkerProcess worker) =>
        string.Join('\n', worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(40));

    /// <summary>
    /// Polls <c>hindsight.progress.last_commit_lsn</c> of <paramref name="slot"/> every 10 ms until it reaches
    /// <paramref name="marker"/>; fails if the worker exits or <paramref name="timeout"/> passes.
    /// </summary>
    public static async Task WaitForAsync(this WorkerProcess worker, NpgsqlConnection poll, string slot, string sourceDb, ulong marker,
        TimeSpan timeout, Action? onPoll = null)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT last_commit_lsn FROM hindsight.progress WHERE slot = $1 AND database = $2", poll);
        cmd.Parameters.AddWithValue(slot);
        cmd.Parameters.AddWithValue(sourceDb);
        await cmd.PrepareAsync();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await cmd.ExecuteScalarAsync() is long stored && (ulong)stored >= marker) return;
            if (worker.HasExited) throw new InvalidOperationException($"the worker exited with {worker.ExitCode}:\n{worker.RecentLog()}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the worker did not catch up within {timeout}:\n{worker.RecentLog()}");
            onPoll?.Invoke();
            await Task.Delay(10);
        }
    }
}
