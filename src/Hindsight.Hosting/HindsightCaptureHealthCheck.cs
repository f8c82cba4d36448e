using Hindsight.Status;
using Hindsight.Worker;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Hindsight.Hosting;

/// <summary>
/// Whether the capture worker is ready: it holds the slot and captures, and the latest status read finds nothing
/// wrong (the slot's lag under <see cref="HindsightCaptureOptions.MaxLagBytes"/> and
/// <see cref="HindsightCaptureOptions.MaxLag"/>, the slot and the store present). A replica standing by is not ready,
/// and says so: it is alive and waiting, not broken. <c>hindsight run --metrics-urls</c> serves this check as
/// <c>/readyz</c>; in a host, <see cref="HindsightHealthCheckExtensions.AddHindsightCapture"/> registers it.
/// </summary>
public sealed class HindsightCaptureHealthCheck : IHealthCheck
{
    private readonly Func<CaptureWorker> _worker;
    private readonly Func<StatusMonitor> _status;

    /// <summary>A check of <paramref name="worker"/>, with the status <paramref name="status"/> reads.</summary>
    /// <param name="worker">The worker.</param>
    /// <param name="status">The status read in the background (started by whoever owns it).</param>
    public HindsightCaptureHealthCheck(CaptureWorker worker, StatusMonitor status)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(status);
        _worker = () => worker;
        _status = () => status;
    }

    internal HindsightCaptureHealthCheck(HindsightCaptureService service)
    {
        _worker = () => service.Worker;
        _status = () => service.Status;
    }

    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var worker = _worker();
        var last = _status().Last;
        var data = new Dictionary<string, object>();
        if (last?.LagBytes is { } bytes) data["lag_bytes"] = bytes;
        if (last?.LagSeconds is { } seconds) data["lag_seconds"] = seconds;
        var result = !worker.IsCapturing
            ? Unhealthy(context, worker.IsStandingBy ? "standing by: another worker holds the slot" : "not capturing: connecting or reconnecting", data)
            : last is { Healthy: false } report ? Unhealthy(context, string.Join("; ", report.Problems), data)
            : HealthCheckResult.Healthy(last is null ? "capturing (no status read yet)" : "capturing", data);
        return Task.FromResult(result);
    }

    private static HealthCheckResult Unhealthy(HealthCheckContext context, string description, IReadOnlyDictionary<string, object> data) =>
        new(context.Registration?.FailureStatus ?? HealthStatus.Unhealthy, description, data: data);
}
