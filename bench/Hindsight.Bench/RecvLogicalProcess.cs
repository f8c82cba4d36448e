using System.Diagnostics;

namespace Hindsight.Bench;

/// <summary>
/// A bare pg_recvlogical reading a pgoutput slot with the options the throughput figure gives it (and the worker uses:
/// proto_version 2, messages, streaming on), running until stopped — the "bare reader" of the latency and cost figures.
/// </summary>
internal sealed class RecvLogicalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private RecvLogicalProcess(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>The decoded stream (pgoutput messages, each followed by a newline) when started with <c>toStdout</c>.</summary>
    public Stream Output => _process.StandardOutput.BaseStream;

    /// <param name="toStdout">true: the stream goes to <see cref="Output"/> (the caller must read it); false: /dev/null.</param>
    /// <param name="cpu">The core to run it on (<c>cost --split-cpus</c>), or null for any.</param>
    public static RecvLogicalProcess Start(BenchServer server, string db, string slot, string publication, bool toStdout, int? cpu = null)
    {
        var psi = server.Server.StartInfoFor("pg_recvlogical",
        [
            "-d", server.Server.Url(db), "--slot", slot, "--start", "--no-loop",
            "-o", "proto_version=2", "-o", $"publication_names={publication}", "-o", "messages=true", "-o", "streaming=on",
            "-f", toStdout ? "-" : "/dev/null",
        ]).OnCpu(cpu);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start pg_recvlogical");
        var r = new RecvLogicalProcess(p);
        if (!toStdout) _ = p.StandardOutput.ReadToEndAsync();
        return r;
    }

    /// <summary>CPU seconds of pg_recvlogical itself (under runuser: its child), null once it is gone.</summary>
    public double? CpuSeconds => Proc.CpuSeconds(TargetPid());

    // As root, PrivatePostgresServer starts server binaries through runuser; signals must reach pg_recvlogical itself.
    private int TargetPid() =>
        Path.GetFileName(_process.StartInfo.FileName) == "runuser" && Proc.Children(_process.Id) is [var child, ..] ? child : _process.Id;

    /// <summary>Stops it (SIGTERM: pg_recvlogical exits cleanly) and waits until it and runuser have exited and been reaped.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        Proc.Signal(TargetPid(), Proc.SigTerm);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
    }

    /// <summary>Fails if pg_recvlogical has already exited (it should run until stopped).</summary>
    public void EnsureRunning()
    {
        if (_process.HasExited)
            throw new InvalidOperationException($"pg_recvlogical exited with {_process.ExitCode}: {(_stderr.IsCompleted ? _stderr.Result : "")}");
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); } catch (Exception) { /* best effort */ }
        _process.Dispose();
    }
}
