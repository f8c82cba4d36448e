using System.Diagnostics.Metrics;
using System.Reflection;

namespace Hindsight.Diagnostics;

/// <summary>
/// The worker's figures as .NET metrics (a <see cref="Meter"/> named <see cref="MeterName"/>), for any listener:
/// OpenTelemetry (<c>AddMeter("Hindsight")</c>), <c>dotnet-counters</c>, or <c>hindsight run --metrics-urls</c>, which
/// serves them in Prometheus' text format. The worker's instruments are tagged with the source's name.
/// </summary>
public static class HindsightMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Hindsight";

    private static readonly Meter Meter = new(MeterName,
        typeof(HindsightMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    private static readonly Counter<long> ChangesStored = Meter.CreateCounter<long>(
        "hindsight.changes.stored", "{change}", "Row changes committed to the store.");

    private static readonly Counter<long> TransactionsStored = Meter.CreateCounter<long>(
        "hindsight.transactions.stored", "{transaction}", "Source transactions committed to the store.");

    private static readonly Histogram<double> StoreCommitDuration = Meter.CreateHistogram<double>(
        "hindsight.store.commit.duration", "s", "Time to write and commit one store transaction (rows not sent before, progress, COMMIT).");

    private static readonly Histogram<double> CommitToStored = Meter.CreateHistogram<double>(
        "hindsight.change.latency", "s", "From the source commit of a store transaction's newest source transaction to its store commit.");

    private static readonly Counter<long> Reconnects = Meter.CreateCounter<long>(
        "hindsight.reconnects", "{reconnect}", "Capture sessions that ended with an error the worker retried.");

    private static readonly Counter<long> ContextErrors = Meter.CreateCounter<long>(
        "hindsight.context.errors", "{error}", "Context messages recorded as errors (too large, not valid JSON).");

    private static Func<(long? Bytes, double? Seconds)>? _lag;

    // Observed when a listener collects: whatever the last status read said (see ReportLag).
    private static readonly ObservableGauge<long> LagBytes = Meter.CreateObservableGauge(
        "hindsight.slot.lag.bytes", () => _lag?.Invoke().Bytes is { } b ? [new Measurement<long>(b)] : Array.Empty<Measurement<long>>(),
        "By", "WAL the source has written that the slot has not acknowledged yet (hindsight status's lag).");

    private static readonly ObservableGauge<double> LagSeconds = Meter.CreateObservableGauge(
        "hindsight.slot.lag.seconds", () => _lag?.Invoke().Seconds is { } s ? [new Measurement<double>(s)] : Array.Empty<Measurement<double>>(),
        "s", "How long the store has not advanced while the slot is behind (hindsight status's lag).");

    /// <summary>
    /// Where the slot lag gauges read from: a reader of the source's slot and the store's progress, such as a periodic
    /// <c>hindsight status</c> (<c>run --metrics-urls</c> reads one every few seconds). Null stops reporting them.
    /// </summary>
    /// <param name="lag">Returns the latest lag in bytes and seconds (null when unknown).</param>
    public static void ReportLag(Func<(long? Bytes, double? Seconds)>? lag) => _lag = lag;

    internal static void StoreCommitted(string source, long changes, long transactions, TimeSpan duration, DateTime? newestSourceCommit)
    {
        var tag = new KeyValuePair<string, object?>("source", source);
        if (changes > 0) ChangesStored.Add(changes, tag);
        if (transactions > 0) TransactionsStored.Add(transactions, tag);
        StoreCommitDuration.Record(duration.TotalSeconds, tag);
        if (newestSourceCommit is { } at) CommitToStored.Record(Math.Max(0, (DateTime.UtcNow - at).TotalSeconds), tag);
    }

    internal static void Reconnected(string? source) => Reconnects.Add(1, new KeyValuePair<string, object?>("source", source ?? ""));

    internal static void ContextError() => ContextErrors.Add(1);
}
