using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// The real <c>hindsight run</c> command in its own process (<c>dotnet hindsight.dll run …</c>), as users run it: tests
/// SIGKILL it and read its memory; the bench, which compiles this same file, times it.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    /// <summary>The most lines of output kept (the last ones): a long run at debug level must not fill the memory.</summary>
    private const int KeptLines = 10_000;

    private readonly Process _process;
    private readonly int? _tracedPid;
    private readonly Queue<string> _output = new();
    private long _peakRssKiB;

    private WorkerProcess(Process process, Func<Process, int>? findWorker)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _tracedPid = findWorker?.Invoke(process);
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > KeptLines) _output.Dequeue();
        }
    }

    /// <summary>
    /// The CLI that runs: the CLI's own build output, as the test project records it at build time (the copy in the test's
    /// output folder lacks the Microsoft.Extensions.* assemblies the ASP.NET Core framework reference removed); else the
    /// ReadyToRun publish a Release build of the bench puts in <c>worker/</c>; else <c>hindsight.dll</c> next to this assembly.
    /// </summary>
    public static string HindsightDll { get; set; } = DefaultDll();

    private static string DefaultDll()
    {
        if (typeof(WorkerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "HindsightCliDll")?.Value is { Length: > 0 } recorded && File.Exists(recorded))
            return recorded;
        var published = Path.Combine(AppContext.BaseDirectory, "worker", "hindsight.dll");
        return File.Exists(published) ? published : Path.Combine(AppContext.BaseDirectory, "hindsight.dll");
    }

    /// <summary>Starts <c>hindsight run</c> with the given arguments after <c>run</c>.</summary>
    public static WorkerProcess Start(params string[] args) => Start(args, prepare: null);

    /// <summary>Starts <c>hindsight run</c> with <paramref name="args"/> after <c>run</c>.</summary>
    /// <param name="args">The arguments after <c>run</c>.</param>
    /// <param name="prepare">Changes the start before it happens (its environment; a wrapper such as taskset or a tracer) and returns it.</param>
    /// <param name="findWorker">Under a tracer: the worker's process id among the tracer's descendants.</param>
    public static WorkerProcess Start(IEnumerable<string> args, Func<ProcessStartInfo, ProcessStartInfo>? prepare, Func<Process, int>? findWorker = null) =>
        StartCommand("run", args, prepare, findWorker);

    /// <summary>Starts <c>hindsight {command}</c> (e.g. <c>ingest</c>) with <paramref name="args"/> after the command.</summary>
    public static WorkerProcess StartCommand(string command, IEnumerable<string> args, Func<ProcessStartInfo, ProcessStartInfo>? prepare = null,
        Func<Process, int>? findWorker = null)
    {
        if (!File.Exists(HindsightDll)) throw new FileNotFoundException("hindsight.dll was not found", HindsightDll);
        var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(HindsightDll);
        psi.ArgumentList.Add(command);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (prepare is not null) psi = prepare(psi);
        return new WorkerProcess(Process.Start(psi) ?? throw new InvalidOperationException("could not start hindsight"), findWorker);
    }

    /// <summary>The dotnet host running this process (so the worker runs on the same runtime), else the one on the PATH.</summary>
    public static string DotnetHost()
    {
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        // The runtime's own folder lies three levels below the folder of the dotnet host that runs it.
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location);
        if (runtimeDir is not null)
        {
            var candidate = Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", "..", "dotnet"));
            if (File.Exists(candidate)) return candidate;
        }
        return "dotnet";
    }

    /// <summary>The worker's process id (under a tracer: the traced worker, not the tracer).</summary>
    public int Pid => _tracedPid ?? _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited || (_tracedPid is { } p && !File.Exists($"/proc/{p}/stat"));

    /// <summary>Its exit code once it has exited (under a tracer: the tracer's).</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Everything it printed so far (at most the last 10,000 lines).</summary>
    public string Output
    {
        get { lock (_output) return string.Concat(_output.Select(line => line + "\n")); }
    }

    /// <summary>Peak resident set size (VmHWM) in MiB: sampled now, or as last sampled by <see cref="SamplePeakRss"/> once it has exited.</summary>
    public double PeakRssMiB
    {
        get { SamplePeakRss(); return Interlocked.Read(ref _peakRssKiB) / 1024.0; }
    }

    /// <summary>Reads VmHWM (the kernel's own peak RSS record) while the process is alive.</summary>
    public void SamplePeakRss()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kib = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                    if (kib > Interlocked.Read(ref _peakRssKiB)) Interlocked.Exchange(ref _peakRssKiB, kib);
                }
        }
        catch (IOException) { /* exited */ }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to exit on its own; returns its exit code, or null if it still runs.</summary>
    public int? WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return null;
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>Sends SIGKILL and waits for the process to be gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>
    /// Stops it gracefully (SIGTERM) and waits up to <paramref name="timeout"/> (default 20 s; 5 minutes under a tracer,
    /// which writes its trace then), killing it if it is still running then. Returns its exit code, or null when it was killed.
    /// </summary>
    public int? Stop(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
            Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        if (WaitForExit(timeout ?? TimeSpan.FromSeconds(_tracedPid is null ? 20 : 300)) is { } code) return code;
        Kill();
        return null;
    }

    /// <summary>Sends SIGTERM (a graceful stop) and waits up to <paramref name="timeout"/>; returns the exit code, and throws when it had to be killed.</summary>
    public int Terminate(TimeSpan timeout) =>
        Stop(timeout) ?? throw new TimeoutException("worker did not stop on SIGTERM:\n" + Output);

    /// <inheritdoc />
    public void Dispose()
    {
        try { Kill(); } catch (Exception) { /* already gone */ }
        _process.Dispose();
    }
}
