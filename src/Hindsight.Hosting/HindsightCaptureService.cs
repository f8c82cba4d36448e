using Hindsight.Worker;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hindsight.Hosting;

/// <summary>
/// The capture worker as a hosted service: captures until the host stops. A fatal error (the slot or the store's
/// schema missing, credentials refused) ends the service with its exception, which by the host's default stops the
/// host: a worker that cannot capture should not look alive.
/// </summary>
internal sealed class HindsightCaptureService(IOptions<HindsightCaptureOptions> options, ILoggerFactory loggerFactory) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        new CaptureWorker(options.Value.ToCaptureOptions(), loggerFactory).RunAsync(stoppingToken);
}
