using System.CommandLine;
using Hindsight.Configuration;
using Hindsight.Hosting;
using Hindsight.Postgres;
using Hindsight.Queue;
using Hindsight.Status;
using Hindsight.Worker;
using Microsoft.Extensions.Logging;

namespace Hindsight.Cli;

/// <summary><c>hindsight run</c>: capture until stopped (docs/design.md, "Pipeline").</summary>
internal static class RunCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var ignore = HindsightCli.ListOption("--ignore-columns", "Columns left out of stored images: table.column, schema.table.column or *.column (\"Quoted\" parts name exactly that; comma-separated or repeated)");
        var redact = HindsightCli.ListOption("--redact-columns", "Columns whose values are never stored (a keyed digest shows whether they changed)");
        var contextLimit = HindsightCli.PositiveInt("--context-size-limit", "Largest accepted context payload in bytes", HindsightCli.CaptureDefaults.ContextSizeLimit);
        var batch = HindsightCli.PositiveInt("--batch-size", "Changes buffered in memory before they are written to the store", HindsightCli.CaptureDefaults.BatchSize);
        var commitInterval = HindsightCli.Milliseconds("--commit-interval",
            "Shortest time between store commits, in ms, while transactions keep arriving (group commit; 0 commits whenever the stream pauses)",
            HindsightCli.CaptureDefaults.CommitInterval, max: 10_000);
        var readPause = HindsightCli.Milliseconds("--read-pause",
            "While the replication stream is busy, sleep this long (ms) between reads so that one wake-up reads several transactions (0: read as soon as anything arrives)",
            HindsightCli.CaptureDefaults.ReadPause, max: 1_000);
        var maxPerStoreTx = HindsightCli.PositiveInt("--max-changes-per-store-transaction",
            "Most row changes one store transaction holds when several source transactions are grouped", HindsightCli.CaptureDefaults.MaxChangesPerStoreTransaction);
        var heartbeat = HindsightCli.Milliseconds("--heartbeat-interval",
            "On a quiet database, write a tiny marker to the WAL after this long (ms) without an acknowledgement, so the slot moves on and the source keeps no WAL for it (0: never)",
            HindsightCli.CaptureDefaults.HeartbeatInterval, max: 3_600_000);
        var standbyPoll = HindsightCli.Milliseconds("--standby-poll-interval",
            "With --standby: how often (ms) a standing-by worker tries the slot", HindsightCli.CaptureDefaults.StandbyPollInterval, max: 60_000, min: 10);
        var standby = new Option<bool>("--standby")
        {
            Description = "Run as one of several replicas: while another worker holds the slot, stand by and take over when it stops or dies (without it, a slot in use is an error)",
        };
        var metricsUrls = HindsightCli.ListOption("--metrics-urls",
            "Serve /metrics (Prometheus text), /healthz and /readyz at these addresses, without a key (e.g. http://127.0.0.1:9464)");
        var (maxLagBytes, maxLagSeconds) = StatusCommand.LagThresholds("With --metrics-urls: /readyz fails");
        var otlpEndpoint = TelemetryExport.EndpointOption();
        var otlpProtocol = TelemetryExport.ProtocolOption();
        var logFormat = HindsightCli.LogFormatOption();
        var noStreaming = new Option<bool>("--no-streaming")
        {
            Description = "Have PostgreSQL send a large transaction whole at its commit (spilled on the server meanwhile) instead of streaming it while open",
        };
        var queue = new QueueArguments();
        queue.Nats.Description = "The scale path: publish the changes to this NATS cluster's JetStream stream (nats://h1:4222,nats://h2:4222) instead of " +
                                 "writing them into the store; 'hindsight ingest' stores them. The slot is acknowledged once JetStream holds them";
        queue.Stream.Description = "With --nats: the JetStream stream";
        var cmd = new Command("run", "Capture changes into the store (or, with --nats, into the JetStream queue) until stopped (Ctrl+C or SIGTERM stop it gracefully). Resumes from the slot.")
        {
            ignore, redact, contextLimit, batch, maxPerStoreTx, commitInterval, readPause, heartbeat, standby, standbyPoll, metricsUrls, maxLagBytes, maxLagSeconds, otlpEndpoint, otlpProtocol, logFormat, noStreaming,
            queue.Nats, queue.Stream,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var options = new CaptureOptions(conn)
            {
                IgnoreColumns = NameList.Split(r.GetValue(ignore)).ToList(),
                RedactColumns = NameList.Split(r.GetValue(redact)).ToList(),
                ContextSizeLimit = r.GetValue(contextLimit),
                BatchSize = r.GetValue(batch),
                CommitInterval = TimeSpan.FromMilliseconds(r.GetValue(commitInterval)),
                ReadPause = TimeSpan.FromMilliseconds(r.GetValue(readPause)),
                StreamLargeTransactions = !r.GetValue(noStreaming),
                Standby = r.GetValue(standby),
                StandbyPollInterval = TimeSpan.FromMilliseconds(r.GetValue(standbyPoll)),
                MaxChangesPerStoreTransaction = r.GetValue(maxPerStoreTx),
                HeartbeatInterval = TimeSpan.FromMilliseconds(r.GetValue(heartbeat)),
            };
            using var loggerFactory = HindsightCli.CreateLoggerFactory(r.GetValue(o.Verbose) ? LogLevel.Debug : LogLevel.Information,
                json: r.GetValue(logFormat) == "json");
            var log = loggerFactory.CreateLogger("hindsight");
            log.LogInformation("hindsight {Version}", HindsightCli.Version);
            var queueOptions = queue.ReadConnection(r);
            log.LogInformation("capturing {Source} (slot {Slot}, publication {Publication}) into {Store}; stop with Ctrl+C",
                ConnectionStrings.Describe(options.SourceConnectionString), options.Slot, options.Publication,
                queueOptions is not null ? $"JetStream stream {queueOptions.Stream} at {string.Join(",", queueOptions.Urls)}"
                : options.StoreConnectionString is null ? "the source database" : ConnectionStrings.Describe(options.StoreConnectionString));
            await using var telemetry = TelemetryExport.Start(r.GetValue(otlpEndpoint), r.GetValue(otlpProtocol)!, httpRequests: false);
            if (telemetry is not null)
                log.LogInformation("sending traces and metrics over OTLP to {Endpoint}", TelemetryExport.Describe(r.GetValue(otlpEndpoint)));
            await using var queueCapture = queueOptions is null ? null : await JetStreamCapture.ConnectAsync(options, queueOptions, loggerFactory, token);
            var worker = queueCapture?.Worker ?? new CaptureWorker(options, loggerFactory);
            var urls = NameList.Split(r.GetValue(metricsUrls)).ToList();
            await using var status = new StatusMonitor(new StatusOptions(conn)
            {
                MaxLagBytes = r.GetValue(maxLagBytes),
                MaxLag = TimeSpan.FromSeconds(r.GetValue(maxLagSeconds)),
            });
            if (urls.Count > 0) status.Start();
            await using var metrics = urls.Count == 0 ? null : await MetricsEndpoint.StartAsync(urls, new HindsightCaptureHealthCheck(worker, status), token);
            if (metrics is not null) log.LogInformation("metrics at {Urls}: /metrics, /healthz, /readyz", string.Join(", ", urls));
            using var stopNotifying = CancellationTokenSource.CreateLinkedTokenSource(token);
            var systemd = SystemdReadiness.NotifyWhenStartedAsync(worker, stopNotifying.Token);
            try
            {
                await worker.RunAsync(token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // graceful stop
            }
            finally
            {
                await stopNotifying.CancelAsync();
                await systemd;
            }
            if (token.IsCancellationRequested) log.LogInformation("stopped");
            return HindsightCli.Ok;
        }, ct, gracefulOnCancel: true));
        return cmd;
    }
}
