using Hindsight.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Hindsight.Hosting;

/// <summary>
/// Hindsight's spans and metrics in a host's own OpenTelemetry set-up, exported wherever it exports (OTLP, Prometheus):
/// <code>
/// builder.Services.AddOpenTelemetry()
///     .WithTracing(t => t.AddHindsightInstrumentation().AddAspNetCoreInstrumentation().AddOtlpExporter())
///     .WithMetrics(m => m.AddHindsightInstrumentation().AddOtlpExporter());
/// </code>
/// </summary>
public static class HindsightInstrumentationExtensions
{
    /// <summary>
    /// Collects Hindsight's spans (<see cref="HindsightTracing.SourceName"/>): store commits linked to the traces of the
    /// requests whose changes they stored, as-of and history reads, revert plans and reverts applied.
    /// </summary>
    /// <param name="builder">The host's tracer provider builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static TracerProviderBuilder AddHindsightInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(HindsightTracing.SourceName);
    }

    /// <summary>Collects Hindsight's metrics (<see cref="HindsightMetrics.MeterName"/>): changes stored, commit durations, latency, lag.</summary>
    /// <param name="builder">The host's meter provider builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static MeterProviderBuilder AddHindsightInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(HindsightMetrics.MeterName);
    }
}
