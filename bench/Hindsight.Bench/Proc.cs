using System.Globalization;
using System.Runtime.InteropServices;

namespace Hindsight.Bench;

/// <summary>Reads process figures from /proc (Linux): CPU time, peak and current RSS, parent.</summary>
internal static partial class Proc
{
    private const int ScClkTck = 2;
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static readonly double TicksPerSecond = TryTicks();

    private static double TryTicks()
    {
        try { var t = SysConf(ScClkTck); return t > 0 ? t : 100; }
        catch (Exception) { return 100; }
    }

    /// <summary>Sends a signal; false when the process is gone.</summary>
    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>The fields of /proc/pid/stat after the command name (index 0 = field 3, "state").</summary>
    private static string[]? StatFields(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception) { return null; }
        var close = text.LastIndexOf(')');
        return close < 0 ? null : text[(close + 2)..].Split(' ');
    }

    private static double Ticks(string[] f, int field) => double.Parse(f[field - 3], CultureInfo.InvariantCulture);

    /// <summary>utime + stime of the process itself, in seconds; null when it is gone.</summary>
    public static double? CpuSeconds(int pid)
    {
        var f = StatFields(pid);
        return f is null ? null : (Ticks(f, 14) + Ticks(f, 15)) / TicksPerSecond;
    }

    /// <summary>utime + stime + cutime + cstime (the process and its reaped children), in seconds.</summary>
    public static double? CpuSecondsWithReapedChildren(int pid)
    {
        var f = StatFields(pid);
        return f is null ? null : (Ticks(f, 14) + Ticks(f, 15) + Ticks(f, 16) + Ticks(f, 17)) / TicksPerSecond;
    }

    public static int? ParentPid(int pid)
    {
        var f = StatFields(pid);
        return f is null ? null : int.Parse(f[1], CultureInfo.InvariantCulture);
    }

    /// <summary>A field of /proc/pid/status in KiB (VmHWM, VmRSS …); null when unavailable.</summary>
    public static long? StatusKiB(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
                var parts = line[(field.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], CultureInfo.InvariantCulture);
            }
        }
        catch (Exception) { /* gone */ }
        return null;
    }

    /// <summary>Direct children of <paramref name="parent"/>.</summary>
    public static List<int> Children(int parent)
    {
        var list = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            if (ParentPid(pid) == parent) list.Add(pid);
        }
        return list;
    }

    /// <summary>CPU seconds the whole machine spent busy (all cores; /proc/stat, everything but idle and iowait).</summary>
    public static double MachineBusySeconds()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double busy = 0;
        for (var i = 1; i < f.Length && i <= 8; i++)
            if (i is not (4 or 5)) busy += double.Parse(f[i], CultureInfo.InvariantCulture); // skip idle, iowait
        return busy / TicksPerSecond;
    }

    public static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (Exception) { return "?"; }
    }

    public static string MemTotal()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var kib = long.Parse(line[9..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return $"{kib / 1024.0 / 1024.0:0.0} GiB";
            }
        return "?";
    }

    public static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (Exception) { /* not Linux */ }
        return "?";
    }
}
