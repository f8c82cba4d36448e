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
        var signingKey = ChainCommands.SigningKeyOption("Sign checkpoints of the chain with this Ed25519 key file (hindsight setup makes it); without a key, no checkpoints");
        var checkpointInterval = new Option<int>("--checkpoint-interval")
        {
            Description = "With a signing key: how often to sign a checkpoint, in seconds (the first once the slot is held)",
            DefaultValueFactory = _ => (int)HindsightCli.CaptureDefaults.CheckpointInterval.TotalSeconds, HelpName = StatusCommand.SecondsHelpName,
        };
        checkpointInterval.Validators.Add(v =>
        {
            if (v.GetValue(checkpointInterval) < 1) v.AddError("--checkpoint-interval must be at least 1 second");
        });
        var checkpointDir = new Option<string?>("--checkpoint-dir")
        {
            Description = "Also write each checkpoint into this directory (WORM storage, another host's mount, a witness's inbox)", HelpName = "directory",
        };
        var queue = new QueueArguments();
        queue.Nats.Description = "The scale path: publish the changes to this NATS cluster's JetStream stream (nats://h1:4222,nats://h2:4222) instead of " +
                                 "writing them into the store; 'hindsight ingest' stores them. The slot is acknowledged once JetStream holds them";
        queue.Stream.Description = "With --nats: the JetStream stream";
        var cmd = new Command("run", "Capture changes into the store (or, with --nats, into the JetStream queue) until stopped (Ctrl+C or SIGTERM stop it gracefully). Resumes from the slot.")
        {
            ignore, redact, contextLimit, batch, maxPerStoreTx, commitInterval, readPause, heartbeat, standby, standbyPoll, metricsUrls, maxLagBytes, maxLagSeconds, otlpEndpoint, otlpProtocol, logFormat, noStreaming,
            queue.Nats, queue.Stream, signingKey, checkpointInterval, checkpointDir,
        };
        // One source from --source (or HINDSIGHT_SOURCE); several from configuration (Hindsight:Sources), in one process.
        cmd.SetAction((r, ct) => env.ConfiguredSources.Count > 0
            ? HindsightCli.GuardCore(r, env, o, token => RunAsync(r, ConfiguredConnections(r), token), ct, gracefulOnCancel: true,
                [.. env.ConfiguredSources.Select(c => c.Source), r.GetValue(o.Store) ?? env.GetVariable("HINDSIGHT_STORE")])
            : HindsightCli.Guard(r, env, o, (conn, token) => RunAsync(r, [conn], token), ct, gracefulOnCancel: true));
        return cmd;

        IReadOnlyList<HindsightCli.Connections> ConfiguredConnections(ParseResult r)
        {
            if (!string.IsNullOrWhiteSpace(r.GetValue(o.Source)))
                throw new CliException("--source and Hindsight:Sources name the sources twice: give one or the other");
            var store = r.GetValue(o.Store) is { Length: > 0 } given ? given : env.GetVariable("HINDSIGHT_STORE") is { Length: > 0 } variable ? variable : null;
            var list = env.ConfiguredSources.Select(c => new HindsightCli.Connections
            {
                SourceConnectionString = c.Source, StoreConnectionString = store, SourceName = c.SourceName,
                Slot = c.Slot ?? r.GetValue(o.Slot)!, Publication = c.Publication ?? r.GetValue(o.Publication)!,
            }).ToList();
            foreach (var twice in list.GroupBy(c => c.SourceName ?? "").Where(g => g.Key.Length > 0 && g.Count() > 1))
                throw new CliException($"Hindsight:Sources names source '{twice.Key}' {twice.Count()} times: every source needs a name of its own");
            return list;
        }

        async Task<int> RunAsync(ParseResult r, IReadOnlyList<HindsightCli.Connections> sources, CancellationToken token)
        {
            using var loggerFactory = HindsightCli.CreateLoggerFactory(r.GetValue(o.Verbose) ? LogLevel.Debug : LogLevel.Information,
                json: r.GetValue(logFormat) == "json");
            var log = loggerFactory.CreateLogger("hindsight");
            log.LogInformation("hindsight {Version}", HindsightCli.Version);
            var queueOptions = queue.ReadConnection(r);
            await using var telemetry = TelemetryExport.Start(r.GetValue(otlpEndpoint), r.GetValue(otlpProtocol)!, httpRequests: false);
            if (telemetry is not null)
                log.LogInformation("sending traces and metrics over OTLP to {Endpoint}", TelemetryExport.Describe(r.GetValue(otlpEndpoint)));
            var urls = NameList.Split(r.GetValue(metricsUrls)).ToList();
            // A key named by the user must be readable (the worker says so at start); the default one is used when it exists.
            var keyPath = ChainCommands.SigningKeyPath(r, signingKey, env, out var keyNamed);
            if (keyPath is not null && !keyNamed && !File.Exists(keyPath)) keyPath = null;
            if (queueOptions is not null) keyPath = null; // the queue's ingesters write the store, not this worker
            if (keyPath is null) log.LogInformation("no checkpoint signing key: the chain is written, but not signed (hindsight setup makes a key)");

            var captures = new List<JetStreamCapture>();
            var workers = new List<(HindsightCli.Connections Conn, CaptureWorker Worker, StatusMonitor Status)>();
            try
            {
                foreach (var conn in sources)
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
                        SigningKeyPath = keyPath,
                        CheckpointInterval = TimeSpan.FromSeconds(r.GetValue(checkpointInterval)),
                        CheckpointDirectory = r.GetValue(checkpointDir),
                    };
                    log.LogInformation("capturing {Source} (slot {Slot}, publication {Publication}) into {Store}; stop with Ctrl+C",
                        ConnectionStrings.Describe(options.SourceConnectionString), options.Slot, options.Publication,
                        queueOptions is not null ? $"JetStream stream {queueOptions.Stream} at {string.Join(",", queueOptions.Urls)}"
                        : options.StoreConnectionString is null ? "the source database" : ConnectionStrings.Describe(options.StoreConnectionString));
                    CaptureWorker worker;
                    if (queueOptions is null) worker = new CaptureWorker(options, loggerFactory);
                    else
                    {
                        var capture = await JetStreamCapture.ConnectAsync(options, queueOptions, loggerFactory, token);
                        captures.Add(capture);
                        worker = capture.Worker;
                    }
                    var status = new StatusMonitor(new StatusOptions(conn)
                    {
                        MaxLagBytes = r.GetValue(maxLagBytes),
                        MaxLag = TimeSpan.FromSeconds(r.GetValue(maxLagSeconds)),
                    });
                    workers.Add((conn, worker, status));
                    if (urls.Count > 0) status.Start();
                }
                // One readiness check per source, named after it (one source keeps the name "hindsight").
                var health = workers.Select(w => (workers.Count == 1 ? "hindsight" : $"hindsight:{Describe(w.Conn)}", new HindsightCaptureHealthCheck(w.Worker, w.Status))).ToList();
                await using var metrics = urls.Count == 0 ? null : await MetricsEndpoint.StartAsync(urls, health, token);
                if (metrics is not null) log.LogInformation("metrics at {Urls}: /metrics, /healthz, /readyz", string.Join(", ", urls));
                using var stopNotifying = CancellationTokenSource.CreateLinkedTokenSource(token);
                var systemd = SystemdReadiness.NotifyWhenStartedAsync(workers.Select(w => w.Worker).ToList(), stopNotifying.Token);
                int[] results;
                try
                {
                    results = await Task.WhenAll(workers.Select(w => RunWorkerAsync(w.Worker, Describe(w.Conn), workers.Count > 1, log, token)));
                }
                finally
                {
                    await stopNotifying.CancelAsync();
                    await systemd;
                }
                if (token.IsCancellationRequested) log.LogInformation("stopped");
                return results.Max();
            }
            finally
            {
                foreach (var w in workers) await w.Status.DisposeAsync();
                foreach (var c in captures) await c.DisposeAsync();
            }
        }
    }

    /// <summary>Runs one source's worker to its end: 0 when stopped, 1 when it failed (with several sources, the others go on).</summary>
    private static async Task<int> RunWorkerAsync(CaptureWorker worker, string source, bool several, ILogger log, CancellationToken token)
    {
        try
        {
            await worker.RunAsync(token);
            return HindsightCli.Ok;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return HindsightCli.Ok; // graceful stop
        }
        catch (Exception e) when (several)
        {
            log.LogError("capture of {Source} stopped: {Error}; the other sources go on", source, HindsightCli.Describe(e));
            return HindsightCli.Failed;
        }
    }

    private static string Describe(HindsightCli.Connections c) => c.SourceName ?? ConnectionStrings.Describe(c.SourceConnectionString);
}
