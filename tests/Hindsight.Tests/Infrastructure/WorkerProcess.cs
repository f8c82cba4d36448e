using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// The real <c>hindsight run</c> command in its own process, so tests can SIGKILL it and read its memory.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private long _peakRssKiB;

    private WorkerProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts <c>hindsight run</c> with the given arguments after <c>run</c>.</summary>
    public static WorkerProcess Start(params string[] args)
    {
        var dll = CliDll();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("run");
        foreach (var a in args) psi.ArgumentList.Add(a);
        return new WorkerProcess(Process.Start(psi) ?? throw new InvalidOperationException("could not start hindsight"));
    }

    // The CLI's own build output (recorded by the test project at build time): the copy in this test's output
    // folder lacks the Microsoft.Extensions.* assemblies the ASP.NET Core framework reference removed.
    private static string CliDll() =>
        typeof(WorkerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "HindsightCliDll")?.Value is { Length: > 0 } path && File.Exists(path)
            ? path
            : Path.Combine(AppContext.BaseDirectory, "hindsight.dll");

    /// <summary>Process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Everything it printed so far.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Peak resident set size (VmHWM) in MiB, as last sampled by <see cref="SamplePeakRss"/>.</summary>
    public double PeakRssMiB => _peakRssKiB / 1024.0;

    /// <summary>Reads VmHWM (the kernel's own peak RSS record) while the process is alive.</summary>
    public void SamplePeakRss()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    _peakRssKiB = Math.Max(_peakRssKiB, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]));
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

    /// <summary>Sends SIGTERM (a graceful stop) and waits up to <paramref name="timeout"/>; returns the exit code.</summary>
    public int Terminate(TimeSpan timeout)
    {
        if (!_process.HasExited) Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();
        if (!_process.WaitForExit(timeout)) { Kill(); throw new TimeoutException("worker did not stop on SIGTERM:\n" + Output); }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Kill(); } catch (Exception) { /* already gone */ }
        _process.Dispose();
    }
}
