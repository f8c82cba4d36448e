using System.CommandLine;
using System.Text.Json;
using Hindsight.Queue;
using Hindsight.Status;

namespace Hindsight.Cli;

/// <summary><c>hindsight status</c>: slot lag, last stored position, health as the exit code.</summary>
internal static class StatusCommand
{
    /// <summary>The help name of a duration in seconds; configuration converts a TimeSpan to it.</summary>
    internal const string SecondsHelpName = "seconds";

    /// <summary>The lag thresholds <c>status</c> judges health by, and <c>run</c> judges /readyz by.</summary>
    /// <param name="verdict">What crossing one means, at the start of its description.</param>
    public static (Option<long> Bytes, Option<int> Seconds) LagThresholds(string verdict)
    {
        var maxBytes = new Option<long>("--max-lag-bytes")
        {
            Description = $"{verdict} above this many bytes of WAL not yet confirmed",
            DefaultValueFactory = _ => StatusOptions.DefaultMaxLagBytes,
        };
        maxBytes.Validators.Add(r => { if (HindsightCli.Parsed(r, out long v) && v < 0) r.AddError("--max-lag-bytes must not be negative"); });
        var maxSeconds = new Option<int>("--max-lag-seconds")
        {
            Description = $"{verdict} when the store has not advanced for this many seconds while WAL is pending",
            HelpName = SecondsHelpName,
            DefaultValueFactory = _ => StatusOptions.DefaultMaxLagSeconds,
        };
        maxSeconds.Validators.Add(r => { if (HindsightCli.Parsed(r, out int v) && v < 0) r.AddError("--max-lag-seconds must not be negative"); });
        return (maxBytes, maxSeconds);
    }

    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var (maxBytes, maxSeconds) = LagThresholds("Unhealthy");
        var queue = new QueueArguments();
        queue.Nats.Description = "The scale path's NATS cluster: also show what its JetStream stream holds for this source, how long it has waited, and the ingesters";
        queue.Stream.Description = "With --nats: the JetStream stream";
        queue.Consumer.Description = "With --nats: the ingesters' consumer";
        var cmd = new Command("status", "Slot, lag, last stored position and store version (with --nats, the queue too); the exit code tells health (0 healthy, 2 unhealthy, 1 error)")
        {
            maxBytes, maxSeconds, queue.Nats, queue.Stream, queue.Consumer,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var reader = new StatusReader(new StatusOptions(conn)
            {
                MaxLagBytes = r.GetValue(maxBytes),
                MaxLag = TimeSpan.FromSeconds(r.GetValue(maxSeconds)),
            });
            var report = await reader.ReadAsync(token);
            var queueStatus = queue.ReadConnection(r) is { } q
                ? await QueueStatusReader.ReadAsync(q, report.SourceName ?? conn.SourceName ?? report.Database, TimeSpan.FromSeconds(r.GetValue(maxSeconds)), token)
                : null;
            var text = r.GetValue(o.Format) switch
            {
                "json" => Json(report, queueStatus) + "\n",
                "csv" => StatusCsv(report),
                _ => report.ToText() + queueStatus?.ToText(),
            };
            await env.Output.WriteAsync(text);
            return report.Healthy && queueStatus is not { Problems.Count: > 0 } ? HindsightCli.Ok : HindsightCli.Unhealthy;
        }, ct));
        return cmd;
    }

    /// <summary>The report as JSON, with the queue's status as <c>queue</c> when there is one.</summary>
    private static string Json(StatusReport report, QueueStatus? queue)
    {
        if (queue is null) return JsonSerializer.Serialize(report, HindsightCli.Json);
        var node = JsonSerializer.SerializeToNode(report, HindsightCli.Json)!.AsObject();
        node["queue"] = JsonSerializer.SerializeToNode(queue, HindsightCli.Json);
        return node.ToJsonString(HindsightCli.Json);
    }

    private static string StatusCsv(StatusReport s)
    {
        string[] header =
        [
            "database", "slot", "slot_exists", "slot_active", "wal_status", "lag_bytes", "lag_seconds", "last_stored_position",
            "stored_changes", "last_error", "store_version", "healthy", "problems", "source_name",
        ];
        string?[] row =
        [
            s.Database, s.Slot, s.SlotExists ? "true" : "false", s.SlotActive ? "true" : "false", s.WalStatus,
            s.LagBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            s.LagSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            s.LastStoredPosition, s.StoredChanges?.ToString(System.Globalization.CultureInfo.InvariantCulture), s.LastError,
            s.StoreVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), s.Healthy ? "true" : "false",
            string.Join("; ", s.Problems), s.SourceName,
        ];
        return Csv.Line(header) + Csv.Line(row);
    }
}
