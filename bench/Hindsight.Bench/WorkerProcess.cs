using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// The capture worker as users run it, in its own process: <c>dotnet hindsight.dll run …</c>
/// (hindsight.dll is copied next to the bench by the project reference).
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();

    private readonly int? _tracedPid;

    private WorkerProcess(Process process, int? tracedPid = null)
    {
        _process = process;
        _tracedPid = tracedPid;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        _log.Enqueue(line);
        while (_log.Count > 40) _log.TryDequeue(out _);
    }

    /// <summary>The worker's process id (under dotnet-trace: the traced child, not the tracer).</summary>
    public int Pid => _tracedPid ?? _process.Id;
    public bool HasExited => _process.HasExited || (_tracedPid is { } p && !File.Exists($"/proc/{p}/stat"));
    public string RecentLog => string.Join('\n', _log);

    /// <summary>Peak resident set size so far (VmHWM), MiB.</summary>
    public double PeakRssMiB => (Proc.StatusKiB(Pid, "VmHWM") ?? 0) / 1024.0;

    /// <summary>Current resident set size (VmRSS), MiB.</summary>
    public double RssMiB => (Proc.StatusKiB(Pid, "VmRSS") ?? 0) / 1024.0;

    /// <summary>User + system CPU seconds so far.</summary>
    public double CpuSeconds => Proc.CpuSeconds(Pid) ?? double.NaN;

    /// <summary>Environment variables added to the worker's (e.g. runtime knobs for experiments).</summary>
    public static IReadOnlyDictionary<string, string> ExtraEnvironment { get; set; } = new Dictionary<string, string>();

    /// <summary>The core every worker runs on (<c>cost --split-cpus</c>), or null for any.</summary>
    public static int? Cpu { get; set; }

    /// <summary>The worker to run: the ReadyToRun publish next to the bench (Release builds), else the plain build
    /// next to it, or any other (<c>--worker-dll</c>).</summary>
    public static string HindsightDll { get; set; } =
        File.Exists(Path.Combine(AppContext.BaseDirectory, "worker", "hindsight.dll"))
            ? Path.Combine(AppContext.BaseDirectory, "worker", "hindsight.dll")
            : Path.Combine(AppContext.BaseDirectory, "hindsight.dll");

    public static WorkerProcess Start(string sourceConnectionString, string slot, string publication, params string[] extra)
    {
        if (!File.Exists(HindsightDll)) throw new FileNotFoundException("hindsight.dll is not next to the bench", HindsightDll);
        var psi = new ProcessStartInfo
        {
            FileName = DotnetHost(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (k, v) in ExtraEnvironment) psi.Environment[k] = v;
        string[] args = [HindsightDll, "run", "--source", sourceConnectionString, "--slot", slot, "--publication", publication, .. extra];
        // Profiling aid: HINDSIGHT_BENCH_TRACE=<file.nettrace> runs the worker under dotnet-trace (CPU sampling).
        var trace = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_TRACE");
        if (!string.IsNullOrEmpty(trace))
        {
            var host = psi.FileName;
            psi.FileName = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_DOTNET_TRACE") ?? "dotnet-trace";
            args = ["collect", "--profile", "dotnet-sampled-thread-time", "--format", "Speedscope", "-o", trace, "--", host, .. args];
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi.OnCpu(Cpu)) ?? throw new InvalidOperationException("could not start the worker");
        // Profiling aid: HINDSIGHT_BENCH_COUNTERS=<file.csv> records the worker's System.Runtime counters (GC, allocation) each second.
        var counters = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_COUNTERS");
        if (!string.IsNullOrEmpty(counters) && string.IsNullOrEmpty(trace))
        {
            var c = new ProcessStartInfo
            {
                FileName = Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_DOTNET_COUNTERS") ?? "dotnet-counters",
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in (string[])["collect", "-p", process.Id.ToString(), "--format", "csv", "-o", counters,
                         "--refresh-interval", "1", "--counters", "System.Runtime"])
                c.ArgumentList.Add(a);
            var collector = Process.Start(c);
            collector?.StandardOutput.ReadToEndAsync();
            collector?.StandardError.ReadToEndAsync();
        }
        if (string.IsNullOrEmpty(trace)) return new WorkerProcess(process);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (Proc.Children(process.Id) is [var child, ..]) return new WorkerProcess(process, child);
            Thread.Sleep(10);
        }
        throw new InvalidOperationException("dotnet-trace did not start the worker");
    }

    private static string DotnetHost()
    {
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location); // <root>/shared/Microsoft.NETCore.App/<v>
        if (runtimeDir is not null)
        {
            var candidate = Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", "..", "dotnet"));
            if (File.Exists(candidate)) return candidate;
        }
        return "dotnet";
    }

    /// <summary>
    /// Polls <c>hindsight.progress.last_commit_lsn</c> of <paramref name="slot"/> every 10 ms until it reaches
    /// <paramref name="marker"/>; fails if the worker exits or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task WaitForAsync(NpgsqlConnection poll, string slot, string sourceDb, ulong marker, TimeSpan timeout, Action? onPoll = null)
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
            if (HasExited) throw new InvalidOperationException($"the worker exited with {_process.ExitCode}:\n{RecentLog}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the worker did not catch up within {timeout}:\n{RecentLog}");
            onPoll?.Invoke();
            await Task.Delay(10);
        }
    }

    /// <summary>Stops the worker gracefully (SIGTERM), killing it if it does not stop in time.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        Proc.Signal(Pid, Proc.SigTerm);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(_tracedPid is null ? 20 : 300));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); } catch (Exception) { /* best effort */ }
        _process.Dispose();
    }
}
