using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Hindsight.Hosting;

/// <summary>The capture worker's readiness as an ASP.NET Core health check.</summary>
public static class HindsightHealthCheckExtensions
{
    /// <summary>
    /// Adds <see cref="HindsightCaptureHealthCheck"/> for the worker <c>AddHindsightCapture</c> runs in this host.
    /// Map it where the probes look, usually only on readiness:
    /// <code>
    /// builder.Services.AddHealthChecks().AddHindsightCapture(tags: ["ready"]);
    /// app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
    /// </code>
    /// </summary>
    /// <param name="builder">The host's health checks.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">What a failing check reports; <see cref="HealthStatus.Unhealthy"/> when null.</param>
    /// <param name="tags">Tags to select the check by.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="InvalidOperationException">At the first check: <c>AddHindsightCapture</c> was not called.</exception>
    public static IHealthChecksBuilder AddHindsightCapture(this IHealthChecksBuilder builder, string name = "hindsight",
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(name, services =>
        {
            var service = services.GetServices<IHostedService>().OfType<HindsightCaptureService>().FirstOrDefault()
                ?? throw new InvalidOperationException("the Hindsight health check needs the capture worker: call services.AddHindsightCapture(…) too");
            return new HindsightCaptureHealthCheck(service);
        }, failureStatus, tags));
    }
}
