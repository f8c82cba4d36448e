namespace Hindsight.Bench;

/// <summary>
/// The machine's CPU over an interval, split into what this benchmark caused (the server, the bench process and
/// the children it started and reaped: worker, pg_recvlogical, pgbench) and what other processes took ("foreign").
/// </summary>
/// <remarks>Close it only after the bench's children have exited and been reaped, so their CPU is in the bench's
/// cutime/cstime; a child still running is not counted and shows up as foreign.</remarks>
internal sealed class CpuWindow
{
    private readonly int _postmaster;
    private readonly double _machine0;
    private readonly ServerCpu _server0;
    private readonly double _self0;

    public CpuWindow(int postmaster)
    {
        _postmaster = postmaster;
        _server0 = ServerCpu.Take(postmaster);
        _self0 = SelfSeconds();
        _machine0 = Proc.MachineBusySeconds();
    }

    private static double SelfSeconds() => Proc.CpuSecondsWithReapedChildren(Environment.ProcessId) ?? 0;

    /// <summary>(server CPU s, bench + reaped children CPU s, foreign CPU s) since construction.</summary>
    public (double Server, double Bench, double Foreign) Close()
    {
        var machine = Proc.MachineBusySeconds() - _machine0;
        var server = ServerCpu.Take(_postmaster).Total - _server0.Total;
        var self = SelfSeconds() - _self0;
        return (server, self, Math.Max(0, machine - server - self));
    }
}
