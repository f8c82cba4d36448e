using System.CommandLine;
using Hindsight.Configuration;
using Hindsight.Queue;
using Microsoft.Extensions.Logging;

namespace Hindsight.Cli;

/// <summary><c>hindsight ingest</c>: move queued changes from JetStream into the store until stopped (docs/scale.md).</summary>
internal static class IngestCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var queue = new QueueArguments();
        queue.Nats.Description = "The NATS cluster whose JetStream stream capture publishes to (nats://h1:4222,nats://h2:4222)";
        var perTransaction = HindsightCli.PositiveInt("--max-messages-per-store-transaction",
            "Most queued messages (transaction parts) stored in one store transaction", 500);
        var logFormat = HindsightCli.LogFormatOption();
        var cmd = new Command("ingest",
            "Store the changes capture queued in JetStream ('hindsight run --nats'), exactly once, until stopped. Run as many as you like: they share the stream's consumer.")
        {
            queue.Nats, queue.Stream, queue.Consumer, perTransaction, logFormat,
        };
        cmd.SetAction((r, ct) => HindsightCli.GuardCore(r, env, o, async token =>
        {
            var q = queue.ReadConnection(r) ?? throw new CliException("ingest needs --nats: the NATS cluster capture publishes to");
            var store = FirstGiven(r.GetValue(o.Store), env.GetVariable("HINDSIGHT_STORE"), r.GetValue(o.Source), env.GetVariable("HINDSIGHT_SOURCE"))
                        ?? throw new CliException("no store: pass --store or set HINDSIGHT_STORE (a postgresql:// URL or key=value connection string)");
            try { ConnectionStrings.Parse(store); }
            catch (ConnectionStringException e) { throw new CliException($"--store: {e.Message}"); }
            using var loggerFactory = HindsightCli.CreateLoggerFactory(r.GetValue(o.Verbose) ? LogLevel.Debug : LogLevel.Information,
                json: r.GetValue(logFormat) == "json");
            loggerFactory.CreateLogger("hindsight").LogInformation("hindsight {Version}", HindsightCli.Version);
            var ingester = new QueueIngester(new QueueIngestOptions
            {
                Queue = q, StoreConnectionString = store, MaxMessagesPerStoreTransaction = r.GetValue(perTransaction),
            }, loggerFactory);
            await ingester.RunAsync(token);
            return HindsightCli.Ok;
        }, ct, gracefulOnCancel: true, r.GetValue(o.Store) ?? env.GetVariable("HINDSIGHT_STORE")));
        return cmd;
    }

    private static string? FirstGiven(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}
