using Hindsight.Diagnostics;

namespace Hindsight.Status;

/// <summary>
/// Reads what <c>hindsight status</c> reads (the slot's lag, the store's progress) every few seconds, in the
/// background, so that the lag gauges of <see cref="HindsightMetrics"/> and a readiness probe report it without a query
/// per scrape. Its thresholds are those of the <see cref="StatusOptions"/> it is given.
/// </summary>
public sealed class StatusMonitor : IAsyncDisposable
{
    /// <summary>How often the status is read.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly StatusOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private volatile StatusReport? _last;

    /// <summary>A monitor of the installation <paramref name="options"/> names, with its lag thresholds.</summary>
    /// <param name="options">The connections and thresholds.</param>
    public StatusMonitor(StatusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>The latest status read, or null before the first one.</summary>
    public StatusReport? Last => _last;

    /// <summary>Starts reading, and reports the lag to the <see cref="HindsightMetrics"/> gauges.</summary>
    public void Start()
    {
        if (_loop is not null) return;
        HindsightMetrics.ReportLag(() => _last is { } r ? (r.LagBytes, r.LagSeconds) : (null, null));
        _loop = LoopAsync(_stop.Token);
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var reader = new StatusReader(_options);
        while (!ct.IsCancellationRequested)
        {
            try { _last = await reader.ReadAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception) { /* the worker logs what is wrong with the servers; the next read may succeed */ }
            try { await Task.Delay(Interval, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Stops reading, and takes the lag gauges' source away.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_loop is not null) HindsightMetrics.ReportLag(null);
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null) await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
