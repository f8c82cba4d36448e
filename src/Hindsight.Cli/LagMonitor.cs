using Hindsight.Configuration;
using Hindsight.Diagnostics;
using Hindsight.Status;

namespace Hindsight.Cli;

/// <summary>
/// For <c>run --metrics-urls</c>: reads what <c>hindsight status</c> reads (the slot's lag, the store's progress) every
/// few seconds, so that the lag gauges and <c>/readyz</c> report it without a query per scrape.
/// </summary>
internal sealed class LagMonitor(ConnectionOptions connection) : IAsyncDisposable
{
    /// <summary>How often the status is read.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private volatile StatusReport? _last;

    /// <summary>The latest status read, or null before the first one.</summary>
    public StatusReport? Last => _last;

    public void Start()
    {
        HindsightMetrics.ReportLag(() => _last is { } r ? (r.LagBytes, r.LagSeconds) : (null, null));
        _loop = LoopAsync(_stop.Token);
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var reader = new StatusReader(new StatusOptions(connection));
        while (!ct.IsCancellationRequested)
        {
            try { _last = await reader.ReadAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception) { /* the worker logs what is wrong with the servers; the next read may succeed */ }
            try { await Task.Delay(Interval, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        HindsightMetrics.ReportLag(null);
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null) await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
