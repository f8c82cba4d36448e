using Hindsight.Store;
using System.CommandLine;
using System.Text.Json;
using Hindsight.Postgres;
using Hindsight.Queue;
using Hindsight.Setup;

namespace Hindsight.Cli;

/// <summary><c>hindsight setup</c>: store, publication, replica identities, slot; baseline, roles, trusted context (docs/cli.md, "setup").</summary>
internal static class SetupCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var tables = HindsightCli.ListOption("--tables", "Track only these tables (table, schema.table, \"Quoted Name\"; comma-separated or repeated)");
        var schemas = HindsightCli.ListOption("--schemas", "Track the tables of these schemas, including tables created in them later");
        var exclude = HindsightCli.ListOption("--exclude-tables", "Leave these tables out (the publication then lists tables one by one: new tables are not followed)");
        var identity = new Option<string>("--replica-identity")
        {
            Description = "full: set REPLICA IDENTITY FULL on every tracked table and partition (complete before-images); default: leave it as it is",
            DefaultValueFactory = _ => "full",
        };
        identity.AcceptOnlyFromAmong("full", "default");
        var indexImages = new Option<bool>("--index-images")
        {
            Description = "Also index before/after images (GIN) for fast JSON containment filters on them; costs store write throughput",
        };
        var partition = new Option<string?>("--partition")
        {
            Description = "Partition the store's changes by this much commit time (UTC): day, week or month. A new store is partitioned by month; " +
                          "a store that holds changes but is not partitioned yet is partitioned now (its changes are copied while the worker goes on). " +
                          "Partitions already made keep their period",
        };
        partition.AcceptOnlyFromAmong("day", "week", "month");
        var bemiCompat = new Option<bool>("--bemi-compat")
        {
            Description = "Also lift /*Bemi {json} Bemi*/ comments of Bemi's ORM packages into context: installs a statement trigger on the tracked tables (and, as a superuser, an event trigger for tables tracked later)",
        };

        var snapshot = new Option<bool>("--snapshot")
        {
            Description = "Also store a baseline of every existing row (operation SNAPSHOT), read in the snapshot the new slot exports, so as-of is complete from now on. Only when this run creates the slot",
        };
        var ignore = HindsightCli.ListOption("--ignore-columns", "With --snapshot: columns left out of the baseline's images (give run the same rules)");
        var redact = HindsightCli.ListOption("--redact-columns", "With --snapshot: columns stored only as keyed digests in the baseline (give run the same rules)");

        var createRoles = new Option<bool>("--create-roles")
        {
            Description = "Also create the least-privilege roles hindsight_capture (REPLICATION), hindsight_writer (append-only store) and hindsight_reader (read-only), with exactly the grants they need (superuser; docs/security.md)",
        };
        var trusted = HindsightCli.ListOption("--trusted-context-roles",
            "Only these roles (and superusers, and hindsight_capture) may emit context in the source database: EXECUTE on pg_logical_emit_message; 'public' gives it back to everyone (superuser; docs/security.md)");

        var queue = new QueueArguments();
        var signingKey = ChainCommands.SigningKeyOption("The Ed25519 key file the worker signs checkpoints with: made here when missing, its public key printed");
        var cmd = new Command("setup",
            "Create or update the store schema, the publication, replica identities and the replication slot; with --nats, the JetStream stream and consumer too (without a source, only those). Idempotent.")
        {
            tables, schemas, exclude, identity, indexImages, partition, bemiCompat, snapshot, ignore, redact, createRoles, trusted, signingKey,
        };
        foreach (var option in queue.All) cmd.Options.Add(option);
        cmd.SetAction((r, ct) =>
        {
            // The queue alone needs no database: hindsight setup --nats … sets up the stream and the consumer.
            var sourceGiven = !string.IsNullOrWhiteSpace(r.GetValue(o.Source)) || !string.IsNullOrWhiteSpace(env.GetVariable("HINDSIGHT_SOURCE"));
            if (!sourceGiven && NameList.Split(r.GetValue(queue.Nats)).Any())
                return HindsightCli.GuardCore(r, env, o, async token =>
                {
                    var format = HindsightCli.RequireFormat(r, o, "setup", "table", "json");
                    var q = await JetStreamSetup.RunAsync(queue.Read(r)!, token);
                    await env.Output.WriteAsync(format == "json" ? JsonSerializer.Serialize(new { queue = q }, HindsightCli.Json) + "\n" : QueueArguments.Text(q));
                    return HindsightCli.Ok;
                }, ct, gracefulOnCancel: false);
            return SetUpAsync(r, ct);
        });
        return cmd;

        Task<int> SetUpAsync(ParseResult r, CancellationToken ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = HindsightCli.RequireFormat(r, o, "setup", "table", "json");
            var queueOptions = queue.Read(r); // checked before anything is changed
            var progress = new CopyProgress(env);
            var runner = new SetupRunner(new SetupOptions(conn)
            {
                Progress = progress,
                Tables = r.GetValue(tables) ?? [],
                Schemas = r.GetValue(schemas) ?? [],
                ExcludeTables = r.GetValue(exclude) ?? [],
                ReplicaIdentity = r.GetValue(identity) == "default" ? ReplicaIdentityMode.Default : ReplicaIdentityMode.Full,
                IndexImages = r.GetValue(indexImages),
                Partition = r.GetValue(partition) switch
                {
                    "day" => PartitionPeriod.Day,
                    "week" => PartitionPeriod.Week,
                    "month" => PartitionPeriod.Month,
                    _ => null,
                },
                PartitionProgress = new Progress<long>(copied => env.Error.WriteLine($"partitioning the store: {copied:N0} changes copied")),
                BemiCompat = r.GetValue(bemiCompat),
                Snapshot = r.GetValue(snapshot),
                IgnoreColumns = NameList.Split(r.GetValue(ignore)).ToList(),
                RedactColumns = NameList.Split(r.GetValue(redact)).ToList(),
                CreateRoles = r.GetValue(createRoles),
                TrustedContextRoles = NameList.Split(r.GetValue(trusted)).ToList(),
            });
            var report = await progress.ShowWhileAsync(token => runner.RunAsync(token), token);
            var keyText = await SigningKeyAsync(r, conn, token);
            var q = queueOptions is null ? null : await JetStreamSetup.RunAsync(queueOptions, token);
            if (format == "json")
                await env.Output.WriteAsync((q is null ? JsonSerializer.Serialize(report, HindsightCli.Json) : JsonSerializer.Serialize(new { database = report, queue = q }, HindsightCli.Json)) + "\n");
            else
                await env.Output.WriteAsync(report.ToText() + (q is null ? "" : QueueArguments.Text(q)));
            if (keyText is not null) await (format == "json" ? env.Error : env.Output).WriteAsync(keyText);
            return HindsightCli.Ok;
        }, ct);

        // The checkpoint signing key: made when missing, recorded in the store, its public half printed for keeping elsewhere.
        async Task<string?> SigningKeyAsync(ParseResult r, HindsightCli.Connections conn, CancellationToken token)
        {
            var path = ChainCommands.SigningKeyPath(r, signingKey, env, out _);
            if (path is null) return null;
            var made = !File.Exists(path);
            Chain.SigningKey key;
            try { key = made ? Chain.SigningKey.Create(path) : Chain.SigningKey.Load(path); }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
            {
                throw new CliException($"--signing-key: {e.Message}");
            }
            using (key)
            {
                await using var store = QueryOptions.OpenStore(conn);
                await new Chain.Checkpoints(store).RecordKeyAsync(key.PublicKey, token);
                return $"checkpoint signing key: {(made ? "made" : "kept")} {path} (key id {key.KeyId}); keep its public key away from the store, " +
                       $"to check checkpoints with (hindsight public-key prints it again):\n{key.PublicKey.Pem}";
            }
        }
    }
}
