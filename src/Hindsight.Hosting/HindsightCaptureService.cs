using Hindsight.Status;
using Hindsight.Worker;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hindsight.Hosting;

/// <summary>
/// The capture worker as a hosted service: captures until the host stops. A fatal error (the slot or the store's
/// schema missing, credentials refused) ends the service with its exception, which by the host's default stops the
/// host: a worker that cannot capture should not look alive. Beside it, a <see cref="StatusMonitor"/> reads the slot's
/// lag for the lag gauges and the readiness check.
/// </summary>
internal sealed class HindsightCaptureService(IOptions<HindsightCaptureOptions> options, ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly Lazy<CaptureWorker> _worker = new(() => new CaptureWorker(options.Value.ToCaptureOptions(), loggerFactory));
    private readonly Lazy<StatusMonitor> _status = new(() => new StatusMonitor(options.Value.ToStatusOptions()));

    /// <summary>The worker (created at the first use, after the options were validated at start).</summary>
    public CaptureWorker Worker => _worker.Value;

    /// <summary>The status read in the background.</summary>
    public StatusMonitor Status => _status.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Status.Start();
        try
        {
            await Worker.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            await Status.DisposeAsync().ConfigureAwait(false);
        }
    }
}
