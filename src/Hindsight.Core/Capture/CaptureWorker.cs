using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hindsight.Capture;

/// <summary>
/// Reads the slot and writes every committed change to the store until cancelled
/// (<c>hindsight run</c>). Reconnects with backoff; resumes from the slot.
/// </summary>
public sealed class CaptureWorker(CaptureOptions options, ILoggerFactory? loggerFactory = null)
{
    private readonly ILogger _log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<CaptureWorker>();

    /// <summary>The options this worker runs with.</summary>
    public CaptureOptions Options => options;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, or a fatal error.</summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        _log.LogInformation("not implemented yet");
        return Task.Delay(Timeout.Infinite, cancellationToken);
    }
}
