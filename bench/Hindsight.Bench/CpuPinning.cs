using System.Diagnostics;
using System.Globalization;

namespace Hindsight.Bench;

/// <summary>
/// Pins processes to one CPU with taskset (util-linux), for <c>cost --split-cpus</c>: a stand-in for two machines
/// on a two-core box. The tracked server and its client get one core, everything that would run elsewhere
/// (the capture worker, its store server, pg_recvlogical) the other, so the tracked database's throughput stops
/// measuring how the capture shares its CPU and starts measuring what capture asks of the database itself.
/// </summary>
internal static class CpuPinning
{
    /// <summary>The core of the tracked server and its client (pgbench).</summary>
    public const int TrackedHost = 0;

    /// <summary>The core of what the recommended deployment puts on another machine (docs/architecture.md, "Where to run the worker and put the store"): worker, store server, pg_recvlogical.</summary>
    public const int CaptureHost = 1;

    /// <summary>
    /// Makes <paramref name="psi"/> start its program on <paramref name="cpu"/>. taskset execs the program, so the
    /// process id stays the program's; under runuser it goes after <c>--</c>, so runuser's child is still the program.
    /// </summary>
    public static ProcessStartInfo OnCpu(this ProcessStartInfo psi, int? cpu)
    {
        if (cpu is not { } c) return psi;
        string[] pin = ["taskset", "-c", c.ToString(CultureInfo.InvariantCulture)];
        if (Path.GetFileName(psi.FileName) == "runuser" && psi.ArgumentList.IndexOf("--") is var dashes and >= 0)
        {
            for (var i = pin.Length - 1; i >= 0; i--) psi.ArgumentList.Insert(dashes + 1, pin[i]);
            return psi;
        }
        psi.ArgumentList.Insert(0, psi.FileName);
        for (var i = pin.Length - 1; i >= 1; i--) psi.ArgumentList.Insert(0, pin[i]);
        psi.FileName = pin[0];
        return psi;
    }

    /// <summary>
    /// Pins a running process, every thread of it and every descendant, to <paramref name="cpu"/>. Processes it
    /// forks later (a postmaster's backends and walsenders) inherit the pinning.
    /// </summary>
    public static void PinTree(int pid, int cpu)
    {
        var pending = new Stack<int>([pid]);
        while (pending.TryPop(out var p))
        {
            var psi = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])["-a", "-p", "-c", cpu.ToString(CultureInfo.InvariantCulture), p.ToString(CultureInfo.InvariantCulture)])
                psi.ArgumentList.Add(a);
            using var taskset = Process.Start(psi) ?? throw new InvalidOperationException("could not start taskset");
            var error = taskset.StandardError.ReadToEnd();
            taskset.StandardOutput.ReadToEnd();
            taskset.WaitForExit();
            if (taskset.ExitCode != 0 && File.Exists($"/proc/{p}/stat"))
                throw new InvalidOperationException($"taskset could not pin process {p} to CPU {cpu}: {error.Trim()}");
            foreach (var child in Proc.Children(p)) pending.Push(child);
        }
    }

    /// <summary>Why the machine cannot split, or null when it can (two cores or more, taskset present).</summary>
    public static string? CannotSplit()
    {
        if (Environment.ProcessorCount < 2) return "--split-cpus needs at least two cores";
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "taskset"));
        return path.Any(File.Exists) ? null : "--split-cpus needs taskset (Debian package util-linux)";
    }
}
