using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hindsight.Chain;
using Hindsight.Configuration;
using Npgsql;

namespace Hindsight.Cli;

/// <summary>
/// The tamper-evident chain (docs/verification.md): <c>hindsight verify</c> recomputes it and checks checkpoints and
/// proofs, <c>hindsight checkpoint</c> signs its head on demand, <c>hindsight public-key</c> exports the key that
/// checks the signatures.
/// </summary>
internal static class ChainCommands
{
    /// <summary>Exit code of <c>verify</c> when the trail is not intact.</summary>
    public const int Broken = 3;

    public static IEnumerable<Command> Create(CliEnvironment env, SharedOptions o) => [Verify(env, o), MakeCheckpoint(env, o), PublicKey(env, o)];

    /// <summary>The <c>--signing-key</c> option: the Ed25519 key file that signs checkpoints.</summary>
    public static Option<string?> SigningKeyOption(string description) => new("--signing-key")
    {
        Description = description + ". Default: $HINDSIGHT_SIGNING_KEY, else $XDG_CONFIG_HOME/hindsight/signing.key (~/.config/hindsight/signing.key)",
        HelpName = "file",
    };

    /// <summary>The signing key's path: the option, else $HINDSIGHT_SIGNING_KEY, else the user's configuration directory; null when
    /// none can be named. <paramref name="explicitly"/> says whether the user named it (then it must exist).</summary>
    public static string? SigningKeyPath(ParseResult r, Option<string?> option, CliEnvironment env, out bool explicitly)
    {
        explicitly = true;
        if (r.GetValue(option) is { Length: > 0 } given) return given;
        if (env.GetVariable("HINDSIGHT_SIGNING_KEY") is { Length: > 0 } variable) return variable;
        explicitly = false;
        if (env.GetVariable("XDG_CONFIG_HOME") is { Length: > 0 } config) return Path.Combine(config, "hindsight", "signing.key");
        if (env.GetVariable("HOME") is { Length: > 0 } home) return Path.Combine(home, ".config", "hindsight", "signing.key");
        return null;
    }

    private static Command Verify(CliEnvironment env, SharedOptions o)
    {
        var since = QueryOptions.Time("--since", "Read only the changes of blocks written at or after this time (links, hashes and checkpoints are always checked whole)");
        var checkpoints = new Option<string[]>("--checkpoint")
        {
            Description = "A checkpoint file to check the store against (repeated, or a directory of them): those kept away from the store are what prove a rewrite",
            HelpName = "file", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
        };
        var publicKey = new Option<string?>("--public-key")
        {
            Description = "The public key (PEM) every checkpoint must be signed by; without it, the store's own record of the keys is used", HelpName = "file",
        };
        var change = new Option<long?>("--change") { Description = "Prove that this change (its id) is in a signed checkpoint: print an inclusion proof as JSON", HelpName = "id" };
        var proof = new Option<string?>("--proof") { Description = "Check an inclusion proof file (JSON from --change), offline: no database needed", HelpName = "file" };
        var cmd = new Command("verify",
            "Recompute the tamper-evident chain and check it against the stored changes and signed checkpoints; exit 0 when intact, 3 when not")
        {
            since, checkpoints, publicKey, change, proof,
        };
        cmd.SetAction((r, ct) => HindsightCli.GuardCore(r, env, o, async token =>
        {
            var format = HindsightCli.RequireFormat(r, o, "verify", "table", "json");
            var key = r.GetValue(publicKey) is { Length: > 0 } keyPath ? Input(() => VerifyingKey.Load(keyPath)) : null;
            if (r.GetValue(proof) is { Length: > 0 } proofPath) return await CheckProofAsync(env, proofPath, key);
            var given = Input(() => ReadCheckpoints(r.GetValue(checkpoints) ?? []));
            var sinceTime = Input(() => Hindsight.Query.IsoTime.Parse(r.GetValue(since), "--since"));
            var (storeConnection, scope) = await StoreScopeAsync(r, env, o, token);
            await using var store = NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(storeConnection));
            var verifier = new TrailVerifier(store);
            if (r.GetValue(change) is { } id)
            {
                if (given.Count > 1) throw new CliException("--change proves against one checkpoint: give at most one --checkpoint");
                var made = await verifier.ProveAsync(id, given.Count == 1 ? given[0] : null, token);
                if (key is not null && made.Problem(key) is { } problem) throw new CliException(problem);
                await env.Output.WriteAsync(made.ToJson());
                await env.Error.WriteLineAsync(made.Describe());
                return HindsightCli.Ok;
            }
            var report = await verifier.VerifyAsync(new VerificationOptions
            {
                Source = scope, Since = sinceTime, Checkpoints = given, PublicKey = key,
            }, token);
            await env.Output.WriteAsync(format == "json" ? Json(report) : Text(report));
            return report.Intact ? HindsightCli.Ok : Broken;
        }, ct, gracefulOnCancel: false, r.GetValue(o.Store), r.GetValue(o.Source)));
        return cmd;
    }

    private static async Task<int> CheckProofAsync(CliEnvironment env, string path, VerifyingKey? key)
    {
        if (!File.Exists(path)) throw new CliException($"no proof file at {path}");
        var proof = Input(() => InclusionProof.Parse(File.ReadAllText(path)));
        if (proof.Problem(key) is { } problem)
        {
            await env.Output.WriteLineAsync($"proof does NOT hold: {problem}");
            return Broken;
        }
        await env.Output.WriteLineAsync($"proof holds: {proof.Describe()}" +
            (key is null ? "; the checkpoint's signature was not checked (give --public-key)" : $"; signature checked with key {key.KeyId}"));
        return HindsightCli.Ok;
    }

    private static Command MakeCheckpoint(CliEnvironment env, SharedOptions o)
    {
        var signingKey = SigningKeyOption("The Ed25519 key file to sign with (hindsight setup makes it)");
        var output = new Option<string?>("--out") { Description = "Also write the checkpoint to this file", HelpName = "file" };
        var directory = new Option<string?>("--dir") { Description = "Also write the checkpoint into this directory, in a file named after its source, size and time", HelpName = "directory" };
        var cmd = new Command("checkpoint", "Sign the chain's head now and record it in the store (and in a file with --out or --dir)")
        {
            signingKey, output, directory,
        };
        cmd.SetAction((r, ct) => HindsightCli.GuardCore(r, env, o, async token =>
        {
            var format = HindsightCli.RequireFormat(r, o, "checkpoint", "table", "json");
            var path = SigningKeyPath(r, signingKey, env, out _) ?? throw new CliException("no signing key: pass --signing-key or set HINDSIGHT_SIGNING_KEY");
            using var key = Input(() => SigningKey.Load(path));
            var (storeConnection, scope) = await StoreScopeAsync(r, env, o, token);
            await using var store = NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(storeConnection));
            var source = scope ?? await OnlySourceAsync(store, token);
            var made = await new Checkpoints(store).MakeAsync(source, key, token)
                       ?? throw new CliException($"source '{source}' has no chain yet: nothing was stored since the store was set up for it");
            var files = new List<string>();
            if (r.GetValue(output) is { Length: > 0 } file) { Checkpoints.WriteFileAt(made, file); files.Add(file); }
            if (r.GetValue(directory) is { Length: > 0 } dir) files.Add(Checkpoints.WriteFile(made, dir));
            if (format == "json") await env.Output.WriteAsync(made.ToJson());
            else
            {
                var c = made.Checkpoint;
                await env.Output.WriteLineAsync(
                    $"checkpoint of source {c.Source}: {c.Blocks:N0} blocks, {c.Changes:N0} changes, up to commit {Checkpoint.Lsn(c.Position)}\n" +
                    $"  root {Convert.ToHexStringLower(c.Root)}\n  signed by key {made.KeyId} at {Checkpoint.Time(c.MadeAt)}" +
                    string.Concat(files.Select(f => $"\n  written to {f}")));
            }
            return HindsightCli.Ok;
        }, ct, gracefulOnCancel: false, r.GetValue(o.Store), r.GetValue(o.Source)));
        return cmd;
    }

    private static Command PublicKey(CliEnvironment env, SharedOptions o)
    {
        var signingKey = SigningKeyOption("The Ed25519 key file whose public half to print");
        var output = new Option<string?>("--out") { Description = "Write the public key (PEM) to this file instead of printing it", HelpName = "file" };
        var cmd = new Command("public-key", "Print (or write) the public key that checks the checkpoints' signatures, as PEM") { signingKey, output };
        cmd.SetAction((r, ct) => HindsightCli.GuardCore(r, env, o, async token =>
        {
            var path = SigningKeyPath(r, signingKey, env, out _) ?? throw new CliException("no signing key: pass --signing-key or set HINDSIGHT_SIGNING_KEY");
            using var key = Input(() => SigningKey.Load(path));
            if (r.GetValue(output) is { Length: > 0 } file)
            {
                await File.WriteAllTextAsync(file, key.PublicKey.Pem, token);
                await env.Output.WriteLineAsync($"public key {key.KeyId} written to {file}");
            }
            else await env.Output.WriteAsync(key.PublicKey.Pem);
            return HindsightCli.Ok;
        }, ct, gracefulOnCancel: false));
        return cmd;
    }

    /// <summary>The store to read (--store, else --source) and the source to narrow to (--source-name; else --source's own
    /// name in the store; null: every source). A store alone is enough: an auditor may hold nothing else.</summary>
    private static async Task<(string Store, string? Source)> StoreScopeAsync(ParseResult r, CliEnvironment env, SharedOptions o, CancellationToken ct)
    {
        static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
        var source = Given(r.GetValue(o.Source)) ?? Given(env.GetVariable("HINDSIGHT_SOURCE"));
        var storeConnection = Given(r.GetValue(o.Store)) ?? Given(env.GetVariable("HINDSIGHT_STORE")) ?? source
                              ?? throw new CliException("no store: pass --store (or --source, when the store is in the source database), or set HINDSIGHT_STORE");
        try { ConnectionStrings.Parse(storeConnection); }
        catch (ConnectionStringException e) { throw new CliException($"--store: {e.Message}"); }
        var name = Given(r.GetValue(o.SourceName)) ?? Given(env.GetVariable("HINDSIGHT_SOURCE_NAME"));
        if (name == "*") return (storeConnection, null);
        if (name is not null || source is null) return (storeConnection, name);
        await using var store = NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(storeConnection));
        var (scope, database) = await QueryOptions.ScopeAsync(new HindsightCli.Connections
        {
            SourceConnectionString = source, StoreConnectionString = storeConnection, Slot = "", Publication = "",
        }, store, ct);
        return (storeConnection, scope ?? database);
    }

    private static async Task<string> OnlySourceAsync(NpgsqlDataSource store, CancellationToken ct)
    {
        var cmd = store.CreateCommand("SELECT name FROM hindsight.sources ORDER BY name LIMIT 2");
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var names = new List<string>();
        await using (var rd = await cmd.ExecuteReaderAsync(ct))
            while (await rd.ReadAsync(ct)) names.Add(rd.GetString(0));
        return names.Count == 1 ? names[0]
            : throw new CliException(names.Count == 0 ? "the store has no source yet" : "the store has several sources: name one with --source-name (or --source)");
    }

    private static List<SignedCheckpoint> ReadCheckpoints(IEnumerable<string> paths)
    {
        var list = new List<SignedCheckpoint>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
                list.AddRange(Directory.GetFiles(path, "*.json").Order(StringComparer.Ordinal).Select(Checkpoints.ReadFile));
            else list.Add(Checkpoints.ReadFile(path));
        }
        return list;
    }

    private static T Input<T>(Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is FormatException or FileNotFoundException or ChainException or IOException or UnauthorizedAccessException)
        {
            throw new CliException(e.Message);
        }
    }

    private static string Text(VerificationReport report)
    {
        var sb = new StringBuilder();
        foreach (var s in report.Sources)
        {
            sb.Append(CultureInfo.InvariantCulture, $"source {s.Source}: {s.Blocks:N0} blocks, {s.ChainedChanges:N0} chained changes; ");
            sb.Append(CultureInfo.InvariantCulture, $"{s.VerifiedChanges:N0} stored changes match their leaves ({s.Elapsed.TotalSeconds:0.0}s)\n");
            if (s.PrunedChanges > 0) sb.Append(CultureInfo.InvariantCulture, $"  {s.PrunedChanges:N0} chained changes were pruned by retention (their leaves still verify)\n");
            if (s.ChangesBeforeChain > 0) sb.Append(CultureInfo.InvariantCulture, $"  {s.ChangesBeforeChain:N0} changes were stored before the chain began, and are not covered by it\n");
            if (s.UnchainedRows > 0) sb.Append(CultureInfo.InvariantCulture, $"  {s.UnchainedRows:N0} baseline and prune rows (SNAPSHOT) are derived, outside the chain\n");
            sb.Append(CultureInfo.InvariantCulture, $"  {s.CheckpointsChecked} checkpoint(s) checked, signatures against {s.KeyChecked}");
            if (s.LatestCheckpoint is { } latest)
                sb.Append(CultureInfo.InvariantCulture, $"; latest {Checkpoint.Time(latest.Checkpoint.MadeAt)} ({latest.Checkpoint.Blocks:N0} blocks, key {latest.KeyId})");
            sb.Append('\n');
        }
        if (report.Sources.Count == 0) sb.Append("no source has a chain yet\n");
        if (report.Intact) { sb.Append("intact\n"); return sb.ToString(); }
        var first = report.Breaks[0];
        sb.Append(CultureInfo.InvariantCulture, $"BROKEN: {Kind(first.Kind)}: {first.Detail}\n");
        if (report.Breaks.Count > 1)
        {
            sb.Append(CultureInfo.InvariantCulture, $"and {report.Breaks.Count - 1} more:\n");
            foreach (var b in report.Breaks.Skip(1)) sb.Append(CultureInfo.InvariantCulture, $"  {Kind(b.Kind)}: {b.Detail}\n");
        }
        return sb.ToString();
    }

    private static string Kind(ChainBreakKind kind) => kind switch
    {
        ChainBreakKind.ValueChanged => "value changed",
        ChainBreakKind.ChangeDeleted => "change deleted",
        ChainBreakKind.ChangeInserted => "change inserted",
        ChainBreakKind.ChangesReordered => "changes reordered",
        ChainBreakKind.BlockAltered => "block altered",
        ChainBreakKind.CheckpointMismatch => "checkpoint does not match",
        _ => "checkpoint signature fails",
    };

    private static string Json(VerificationReport report) => JsonSerializer.Serialize(new
    {
        intact = report.Intact,
        sources = report.Sources.Select(s => new
        {
            source = s.Source, blocks = s.Blocks, chained_changes = s.ChainedChanges, verified_changes = s.VerifiedChanges, pruned_changes = s.PrunedChanges,
            changes_before_chain = s.ChangesBeforeChain, unchained_rows = s.UnchainedRows, checkpoints_checked = s.CheckpointsChecked, key_checked = s.KeyChecked,
            latest_checkpoint = s.LatestCheckpoint is { } l ? JsonDocument.Parse(l.ToJson()).RootElement : (JsonElement?)null,
            seconds = Math.Round(s.Elapsed.TotalSeconds, 3),
        }),
        breaks = report.Breaks.Select(b => new
        {
            source = b.Source, kind = b.Kind, detail = b.Detail, change_id = b.ChangeId, block = b.Block,
            commit_lsn = b.CommitLsn is { } lsn ? Checkpoint.Lsn(lsn) : null, ordinal = b.Ordinal, table = b.Table, primary_key = b.PrimaryKey,
        }),
    }, HindsightCli.Json) + "\n";
}
