using Hindsight.Worker;
using Microsoft.Extensions.Hosting.Systemd;

namespace Hindsight.Cli;

/// <summary>
/// <c>hindsight run</c> under systemd with <c>Type=notify</c>: READY=1 once the worker is capturing or standing by (its
/// settings, the store's schema and the slot were accepted), STOPPING=1 when it is asked to stop. Nothing when
/// systemd did not start it (no <c>NOTIFY_SOCKET</c>).
/// </summary>
internal static class SystemdReadiness
{
    public static async Task NotifyWhenStartedAsync(IReadOnlyList<CaptureWorker> workers, CancellationToken ct)
    {
        var notifier = new SystemdNotifier();
        if (!notifier.IsEnabled) return;
        try
        {
            while (!workers.All(w => w.IsCapturing || w.IsStandingBy)) await Task.Delay(100, ct).ConfigureAwait(false);
            notifier.Notify(ServiceState.Ready);
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            notifier.Notify(ServiceState.Stopping);
        }
    }
}
