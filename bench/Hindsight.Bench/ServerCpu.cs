using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// CPU time of the PostgreSQL server's processes: the postmaster (including children it has reaped)
/// plus each live child, classified through pg_stat_activity.
/// </summary>
internal sealed class ServerCpu
{
    /// <summary>Application name the bench gives the worker's connections, to tell its backends apart.</summary>
    public const string WorkerApplicationName = "hindsight-bench-worker";

    private readonly double _postmasterTotal;
    private readonly Dictionary<int, double> _children;

    private ServerCpu(double postmasterTotal, Dictionary<int, double> children)
    {
        _postmasterTotal = postmasterTotal;
        _children = children;
    }

    /// <summary>Total server CPU seconds: postmaster, its reaped children, its live children.</summary>
    public double Total => _postmasterTotal + _children.Values.Sum();

    public static int PostmasterPid(string serverDirectory) =>
        int.Parse(File.ReadLines(Path.Combine(serverDirectory, "data", "postmaster.pid")).First().Trim());

    public static ServerCpu Take(int postmaster)
    {
        var children = new Dictionary<int, double>();
        foreach (var pid in Proc.Children(postmaster))
            if (Proc.CpuSeconds(pid) is { } cpu) children[pid] = cpu;
        return new ServerCpu(Proc.CpuSecondsWithReapedChildren(postmaster) ?? 0, children);
    }

    /// <summary>
    /// CPU seconds spent between <paramref name="before"/> and <paramref name="after"/>, split by the kind of
    /// process (as pg_stat_activity describes the processes alive at <paramref name="after"/>).
    /// </summary>
    public static async Task<CpuSplit> SplitAsync(ServerCpu before, ServerCpu after, NpgsqlDataSource any)
    {
        var kinds = new Dictionary<int, string>();
        await using (var cmd = any.CreateCommand(
            "SELECT pid, coalesce(backend_type, ''), coalesce(application_name, '') FROM pg_stat_activity"))
        await using (var r = await cmd.ExecuteReaderAsync())
            while (await r.ReadAsync())
            {
                var type = r.GetString(1);
                var app = r.GetString(2);
                kinds[r.GetInt32(0)] = type == "walsender" ? "walsender"
                    : type == "client backend" && app == WorkerApplicationName ? "worker"
                    : type == "client backend" ? "bench"
                    : "background";
            }
        double walsender = 0, worker = 0, background = 0;
        foreach (var (pid, cpu) in after._children)
        {
            var delta = cpu - (before._children.TryGetValue(pid, out var b) ? b : 0);
            switch (kinds.GetValueOrDefault(pid, "background"))
            {
                case "walsender": walsender += delta; break;
                case "worker": worker += delta; break;
                case "bench": break;
                default: background += delta; break;
            }
        }
        // Processes that ended in between are in the postmaster's reaped-children time: count them as "ended".
        var ended = after._postmasterTotal - before._postmasterTotal;
        return new CpuSplit(after.Total - before.Total, walsender, worker, background, ended);
    }
}

/// <summary>Server CPU seconds in an interval: total, and by process kind.</summary>
internal sealed record CpuSplit(double Total, double Walsender, double WorkerBackends, double Background, double EndedOrPostmaster);
