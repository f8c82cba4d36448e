using System.Runtime.InteropServices;

namespace Hindsight.Cli;

/// <summary>Turns the first SIGINT or SIGTERM into a cancellation; a second one ends the process at once.</summary>
internal sealed class GracefulStop : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TextWriter _error;
    private int _signals;

    public GracefulStop(TextWriter error, bool enabled)
    {
        _error = error;
        if (!enabled) return;
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            try { _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal)); }
            catch (PlatformNotSupportedException) { /* no such signal here */ }
        }
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cts.Token;

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _signals) > 1) return; // the default action: exit now
        context.Cancel = true;
        try { _error.WriteLine($"hindsight: {context.Signal} received, stopping (send it again to exit at once)"); }
        catch (IOException) { /* stderr closed */ }
        _cts.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }
}
