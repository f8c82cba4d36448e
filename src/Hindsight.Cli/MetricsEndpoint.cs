using Hindsight.Diagnostics;
using Hindsight.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Hindsight.Cli;

/// <summary>
/// <c>hindsight run --metrics-urls</c>: the worker's metrics in Prometheus' text format (<c>/metrics</c>), liveness
/// (<c>/healthz</c>: the process answers) and readiness (<c>/readyz</c>: <see cref="HindsightCaptureHealthCheck"/>, so it is capturing and
/// <c>hindsight status</c> finds nothing wrong, with the lag thresholds of <c>--max-lag-bytes</c> and <c>--max-lag-seconds</c>), without a key: they say how
/// much was stored and whether the worker holds the slot, nothing of the data. Bind them to an address only the
/// monitoring can reach.
/// </summary>
internal static class MetricsEndpoint
{
    /// <summary>The readiness check's tag: <c>/readyz</c> runs the checks that carry it, <c>/healthz</c> none.</summary>
    private const string Ready = "ready";

    /// <summary>Serves the endpoints; <paramref name="readiness"/> has a check per source (ready when every one is).</summary>
    public static async Task<WebApplication> StartAsync(IReadOnlyList<string> urls, IReadOnlyList<(string Name, HindsightCaptureHealthCheck Check)> readiness,
        CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); // the worker's log says what matters; Kestrel's start-up lines would only add noise
        builder.WebHost.UseUrls([.. urls]);
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(HindsightMetrics.MeterName).AddPrometheusExporter());
        // The check a host registers with AddHealthChecks().AddHindsightCapture(), so both say the same.
        var checks = builder.Services.AddHealthChecks();
        foreach (var (name, check) in readiness) checks.Add(new HealthCheckRegistration(name, check, failureStatus: null, tags: [Ready]));
        var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(Ready) });
        await app.StartAsync(ct).ConfigureAwait(false);
        return app;
    }
}
