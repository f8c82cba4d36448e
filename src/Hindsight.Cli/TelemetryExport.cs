using System.CommandLine;
using Hindsight.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Hindsight.Cli;

/// <summary>
/// <c>--otlp-endpoint</c> of <c>run</c> and <c>serve</c>: Hindsight's spans and metrics (and, for <c>serve</c>, a span per
/// HTTP request, the parent of the as-of and revert spans it causes) sent to an OpenTelemetry collector over OTLP. The
/// exporter's standard environment variables (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>,
/// <c>OTEL_EXPORTER_OTLP_HEADERS</c>, …) work too, and turn it on without the option.
/// </summary>
internal sealed class TelemetryExport(TracerProvider tracing, MeterProvider metrics) : IAsyncDisposable
{
    public static Option<string?> EndpointOption() => new("--otlp-endpoint")
    {
        Description = "Send traces and metrics to this OpenTelemetry collector over OTLP (e.g. http://127.0.0.1:4317 for gRPC, http://127.0.0.1:4318 with --otlp-protocol http/protobuf); OTEL_EXPORTER_OTLP_ENDPOINT also turns it on",
        HelpName = "url",
        Validators =
        {
            r =>
            {
                if (r.Tokens is [{ } t] && !(Uri.TryCreate(t.Value, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
                    r.AddError($"--otlp-endpoint must be an absolute URL such as http://127.0.0.1:4317 (got '{t.Value}')");
            },
        },
    };

    public static Option<string> ProtocolOption()
    {
        var option = new Option<string>("--otlp-protocol")
        {
            Description = "OTLP's transport: grpc (the collector's port 4317) or http/protobuf (port 4318)",
            DefaultValueFactory = _ => "grpc",
            HelpName = "protocol",
        };
        option.AcceptOnlyFromAmong("grpc", "http/protobuf");
        return option;
    }

    /// <summary>Starts exporting, or returns null when neither the option nor the environment names a collector.</summary>
    /// <param name="endpoint">The option's value.</param>
    /// <param name="protocol">The option's value.</param>
    /// <param name="httpRequests">Whether to trace the process's HTTP requests too (<c>serve</c>).</param>
    public static TelemetryExport? Start(string? endpoint, string protocol, bool httpRequests)
    {
        if (endpoint is null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))) return null;
        var resource = ResourceBuilder.CreateDefault().AddService("hindsight", serviceVersion: HindsightCli.Version);
        var tracing = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddHindsightInstrumentation();
        if (httpRequests) tracing.AddAspNetCoreInstrumentation();
        var metrics = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddHindsightInstrumentation();
        return new TelemetryExport(
            tracing.AddOtlpExporter(o => Configure(o, endpoint, protocol, "v1/traces")).Build(),
            metrics.AddOtlpExporter(o => Configure(o, endpoint, protocol, "v1/metrics")).Build());
    }

    /// <summary>Where it sends, for the log: scheme, host and port only (an address may carry credentials).</summary>
    public static string Describe(string? endpoint)
    {
        var text = endpoint ?? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") ?? "";
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}" : "the configured collector";
    }

    /// <summary>
    /// The option's endpoint is the collector's base address, as the environment variable's is: over HTTP each signal
    /// goes to its own path below it (which the exporter adds itself only for the environment variable).
    /// </summary>
    private static void Configure(OtlpExporterOptions o, string? endpoint, string protocol, string signalPath)
    {
        if (endpoint is null) return; // the environment's settings, read by the exporter
        var http = protocol == "http/protobuf";
        o.Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        o.Endpoint = http ? new Uri(endpoint.TrimEnd('/') + "/" + signalPath) : new Uri(endpoint);
    }

    /// <summary>
    /// Sends what is still buffered, then stops. The exporters send synchronously and wait for their connection, which
    /// the thread pool opens: flushing from a pool thread at shutdown, on two cores, starved it until the send timed out.
    /// So the flush blocks a thread of its own, and the caller awaits it.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                tracing.ForceFlush(5000);
                metrics.ForceFlush(5000);
                tracing.Dispose();
                metrics.Dispose();
                done.SetResult();
            }
            catch (Exception e) { done.SetException(e); }
        }) { IsBackground = true, Name = "hindsight telemetry flush" }.Start();
        return new ValueTask(done.Task);
    }
}
