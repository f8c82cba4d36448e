using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hindsight.Capture;
using Hindsight.Configuration;
using Hindsight.Setup;
using Hindsight.Status;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hindsight.Cli;

/// <summary>
/// The <c>hindsight</c> command line (design §5): <c>setup</c>, <c>run</c>, <c>status</c>, <c>teardown</c>, <c>demo</c>,
/// <c>changes</c>, <c>history</c>, <c>as-of</c>, <c>revert</c>, <c>trends</c>, <c>serve</c>.
/// </summary>
/// <remarks>
/// Exit codes: 0 success (status: healthy); 1 error (bad input, unreachable database, refused); 2 status:
/// unhealthy; 130 interrupted. Errors are one line on stderr; <c>--verbose</c> adds the details.
/// </remarks>
internal static class HindsightCli
{
    /// <summary>Exit code of a successful command.</summary>
    public const int Ok = 0;
    /// <summary>Exit code of a failed command.</summary>
    public const int Failed = 1;
    /// <summary>Exit code of <c>status</c> when the installation is unhealthy.</summary>
    public const int Unhealthy = 2;
    /// <summary>Exit code of a command (other than <c>run</c>) stopped by a signal.</summary>
    public const int Interrupted = 130;

    private static readonly CaptureOptions CaptureDefaults = new() { SourceConnectionString = "" };

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // terminal output, not HTML
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Parses and runs a command line.</summary>
    public static async Task<int> RunAsync(string[] args, CliEnvironment env, CancellationToken cancellationToken = default)
    {
        using var stop = new GracefulStop(env.Error, env.HandleSignals);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, cancellationToken);
        var root = Build(env);
        var config = new InvocationConfiguration
        {
            Output = env.Output,
            Error = env.Error,
            ProcessTerminationTimeout = null, // signals are handled by GracefulStop
            EnableDefaultExceptionHandler = false,
        };
        if (args.Length == 0)
        {
            await root.Parse(["--help"]).InvokeAsync(config, linked.Token);
            return Failed;
        }
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line, not the whole help text.
            var command = string.Join(' ', new[] { "hindsight" }.Concat(CommandPath(parsed.CommandResult.Command, root)));
            await env.Error.WriteLineAsync(
                $"hindsight: error: {string.Join("; ", parsed.Errors.Select(e => e.Message.Replace('\n', ' ').Replace("\t", "", StringComparison.Ordinal).TrimEnd('.')))} (see '{command} --help')");
            return Failed;
        }
        return await parsed.InvokeAsync(config, linked.Token);
    }

    private static RootCommand Build(CliEnvironment env)
    {
        var o = new SharedOptions();
        var root = new RootCommand(
            "hindsight: an audit trail for PostgreSQL, captured from logical replication.\n" +
            "Start with 'hindsight demo', then 'hindsight setup' and 'hindsight run' against your database.");
        root.Options.Add(o.Source);
        root.Options.Add(o.Store);
        root.Options.Add(o.Slot);
        root.Options.Add(o.Publication);
        root.Options.Add(o.Format);
        root.Options.Add(o.Verbose);

        root.Subcommands.Add(SetupCommand(env, o));
        root.Subcommands.Add(RunCommand(env, o));
        root.Subcommands.Add(StatusCommand(env, o));
        root.Subcommands.Add(TeardownCommand(env, o));
        root.Subcommands.Add(DemoCommand.Create(env, o));
        root.Subcommands.Add(ChangesCommand.Create(env, o));
        root.Subcommands.Add(HistoryCommand.Create(env, o));
        root.Subcommands.Add(AsOfCommand.Create(env, o));
        root.Subcommands.Add(RevertCommand.Create(env, o));
        root.Subcommands.Add(TrendsCommand.Create(env, o));
        root.Subcommands.Add(ServeCommand.Create(env, o));
        return root;
    }

    private static IEnumerable<string> CommandPath(Command command, RootCommand root)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null && c != root; c = c.Parents.OfType<Command>().FirstOrDefault())
            names.Insert(0, c.Name);
        return names;
    }

    // ---- setup --------------------------------------------------------------------------

    private static Command SetupCommand(CliEnvironment env, SharedOptions o)
    {
        var tables = ListOption("--tables", "Track only these tables (table, schema.table, \"Quoted Name\"; comma-separated or repeated)");
        var schemas = ListOption("--schemas", "Track the tables of these schemas, including tables created in them later");
        var exclude = ListOption("--exclude-tables", "Leave these tables out (the publication then lists tables one by one: new tables are not followed)");
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
        var bemiCompat = new Option<bool>("--bemi-compat")
        {
            Description = "Also lift /*Bemi {json} Bemi*/ comments of Bemi's ORM packages into context: installs a statement trigger on the tracked tables (and, as a superuser, an event trigger for tables tracked later)",
        };

        var snapshot = new Option<bool>("--snapshot")
        {
            Description = "Also store a baseline of every existing row (operation SNAPSHOT), read in the snapshot the new slot exports, so as-of is complete from now on. Only when this run creates the slot",
        };
        var ignore = ListOption("--ignore-columns", "With --snapshot: columns left out of the baseline's images (give run the same rules)");
        var redact = ListOption("--redact-columns", "With --snapshot: columns stored only as keyed digests in the baseline (give run the same rules)");

        var createRoles = new Option<bool>("--create-roles")
        {
            Description = "Also create the least-privilege roles hindsight_capture (REPLICATION), hindsight_writer (append-only store) and hindsight_reader (read-only), with exactly the grants they need (superuser; docs/security.md)",
        };
        var trusted = ListOption("--trusted-context-roles",
            "Only these roles (and superusers, and hindsight_capture) may emit context in the source database: EXECUTE on pg_logical_emit_message; 'public' gives it back to everyone (superuser; docs/security.md)");

        var cmd = new Command("setup", "Create or update the store schema, the publication, replica identities and the replication slot. Idempotent.")
        {
            tables, schemas, exclude, identity, indexImages, bemiCompat, snapshot, ignore, redact, createRoles, trusted,
        };
        cmd.SetAction((r, ct) => Guard(r, env, o, async (conn, token) =>
        {
            var format = RequireFormat(r, o, "setup", "table", "json");
            var runner = new SetupRunner(new SetupOptions
            {
                SourceConnectionString = conn.Source,
                StoreConnectionString = conn.Store,
                Slot = r.GetValue(o.Slot)!,
                Publication = r.GetValue(o.Publication)!,
                Tables = r.GetValue(tables) ?? [],
                Schemas = r.GetValue(schemas) ?? [],
                ExcludeTables = r.GetValue(exclude) ?? [],
                ReplicaIdentity = r.GetValue(identity) == "default" ? ReplicaIdentityMode.Default : ReplicaIdentityMode.Full,
                IndexImages = r.GetValue(indexImages),
                BemiCompat = r.GetValue(bemiCompat),
                Snapshot = r.GetValue(snapshot),
                IgnoreColumns = SplitCommas(r.GetValue(ignore)),
                RedactColumns = SplitCommas(r.GetValue(redact)),
                CreateRoles = r.GetValue(createRoles),
                TrustedContextRoles = SplitCommas(r.GetValue(trusted)),
            });
            var report = await runner.RunAsync(token);
            await env.Output.WriteAsync(format == "json" ? JsonSerializer.Serialize(report, Json) + "\n" : report.ToText());
            return Ok;
        }, ct));
        return cmd;
    }

    private static Option<string[]> ListOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "names",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    // ---- run ----------------------------------------------------------------------------

    private static Command RunCommand(CliEnvironment env, SharedOptions o)
    {
        var ignore = ListOption("--ignore-columns", "Columns left out of stored images: table.column, schema.table.column or *.column");
        var redact = ListOption("--redact-columns", "Columns whose values are never stored (a keyed digest shows whether they changed)");
        var contextLimit = PositiveInt("--context-size-limit", "Largest accepted context payload in bytes", CaptureDefaults.ContextSizeLimit);
        var batch = PositiveInt("--batch-size", "Changes buffered in memory before they are written to the store", CaptureDefaults.BatchSize);
        var cmd = new Command("run", "Capture changes into the store until stopped (Ctrl+C or SIGTERM stop it gracefully). Resumes from the slot.")
        {
            ignore, redact, contextLimit, batch,
        };
        cmd.SetAction((r, ct) => Guard(r, env, o, async (conn, token) =>
        {
            var options = new CaptureOptions
            {
                SourceConnectionString = ConnectionStrings.ToNpgsql(conn.Source),
                StoreConnectionString = ConnectionStrings.ToNpgsqlOptional(conn.Store),
                Slot = r.GetValue(o.Slot)!,
                Publication = r.GetValue(o.Publication)!,
                IgnoreColumns = SplitCommas(r.GetValue(ignore)),
                RedactColumns = SplitCommas(r.GetValue(redact)),
                ContextSizeLimit = r.GetValue(contextLimit),
                BatchSize = r.GetValue(batch),
            };
            using var loggerFactory = CreateLoggerFactory(r.GetValue(o.Verbose) ? LogLevel.Debug : LogLevel.Information);
            var log = loggerFactory.CreateLogger("hindsight");
            log.LogInformation("capturing {Source} (slot {Slot}, publication {Publication}) into {Store}; stop with Ctrl+C",
                ConnectionStrings.Describe(options.SourceConnectionString), options.Slot, options.Publication,
                options.StoreConnectionString is null ? "the source database" : ConnectionStrings.Describe(options.StoreConnectionString));
            try
            {
                await new CaptureWorker(options, loggerFactory).RunAsync(token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // graceful stop
            }
            if (token.IsCancellationRequested) log.LogInformation("stopped");
            return Ok;
        }, ct, gracefulOnCancel: true));
        return cmd;
    }

    private static Option<int> PositiveInt(string name, string description, int defaultValue)
    {
        var o = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0) result.AddError($"{name} must be a positive number");
        });
        return o;
    }

    private static IReadOnlyList<string> SplitCommas(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    /// <summary>Console logging to stderr, one line per entry, UTC timestamps.</summary>
    internal static ILoggerFactory CreateLoggerFactory(LogLevel level) => LoggerFactory.Create(b => b
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
            o.UseUtcTimestamp = true;
        })
        .AddFilter("Npgsql", LogLevel.Warning)
        .SetMinimumLevel(level));

    // ---- status -------------------------------------------------------------------------

    private static Command StatusCommand(CliEnvironment env, SharedOptions o)
    {
        var maxBytes = new Option<long>("--max-lag-bytes")
        {
            Description = "Unhealthy above this many bytes of WAL not yet confirmed",
            DefaultValueFactory = _ => StatusOptions.DefaultMaxLagBytes,
        };
        maxBytes.Validators.Add(r => { if (r.GetValueOrDefault<long>() < 0) r.AddError("--max-lag-bytes must not be negative"); });
        var maxSeconds = new Option<int>("--max-lag-seconds")
        {
            Description = "Unhealthy when the store has not advanced for this many seconds while WAL is pending",
            DefaultValueFactory = _ => StatusOptions.DefaultMaxLagSeconds,
        };
        maxSeconds.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--max-lag-seconds must not be negative"); });
        var cmd = new Command("status", "Slot, lag, last stored position and store version; the exit code tells health (0 healthy, 2 unhealthy, 1 error)")
        {
            maxBytes, maxSeconds,
        };
        cmd.SetAction((r, ct) => Guard(r, env, o, async (conn, token) =>
        {
            var reader = new StatusReader(new StatusOptions
            {
                SourceConnectionString = conn.Source,
                StoreConnectionString = conn.Store,
                Slot = r.GetValue(o.Slot)!,
                Publication = r.GetValue(o.Publication)!,
                MaxLagBytes = r.GetValue(maxBytes),
                MaxLag = TimeSpan.FromSeconds(r.GetValue(maxSeconds)),
            });
            var report = await reader.ReadAsync(token);
            var text = r.GetValue(o.Format) switch
            {
                "json" => JsonSerializer.Serialize(report, Json) + "\n",
                "csv" => StatusCsv(report),
                _ => report.ToText(),
            };
            await env.Output.WriteAsync(text);
            return report.Healthy ? Ok : Unhealthy;
        }, ct));
        return cmd;
    }

    private static string StatusCsv(StatusReport s)
    {
        string[] header =
        [
            "database", "slot", "slot_exists", "slot_active", "wal_status", "lag_bytes", "lag_seconds", "last_stored_position",
            "stored_changes", "last_error", "store_version", "healthy", "problems",
        ];
        string?[] row =
        [
            s.Database, s.Slot, s.SlotExists ? "true" : "false", s.SlotActive ? "true" : "false", s.WalStatus,
            s.LagBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            s.LagSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            s.LastStoredPosition, s.StoredChanges?.ToString(System.Globalization.CultureInfo.InvariantCulture), s.LastError,
            s.StoreVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), s.Healthy ? "true" : "false",
            string.Join("; ", s.Problems),
        ];
        return Csv.Line(header) + Csv.Line(row);
    }

    // ---- teardown -----------------------------------------------------------------------

    private static Command TeardownCommand(CliEnvironment env, SharedOptions o)
    {
        var purge = new Option<bool>("--purge") { Description = "Also drop the stored changes (schema hindsight of the store)" };
        var force = new Option<bool>("--force") { Description = "Terminate a running worker that holds the slot instead of refusing" };
        var cmd = new Command("teardown", "Drop the replication slot, the publication and the Bemi-compat triggers; stored changes are kept unless --purge. Idempotent.")
        {
            purge, force,
        };
        cmd.SetAction((r, ct) => Guard(r, env, o, async (conn, token) =>
        {
            var format = RequireFormat(r, o, "teardown", "table", "json");
            var runner = new TeardownRunner(new TeardownOptions
            {
                SourceConnectionString = conn.Source,
                StoreConnectionString = conn.Store,
                Slot = r.GetValue(o.Slot)!,
                Publication = r.GetValue(o.Publication)!,
                Purge = r.GetValue(purge),
                Force = r.GetValue(force),
            });
            var report = await runner.RunAsync(token);
            await env.Output.WriteAsync(format == "json" ? JsonSerializer.Serialize(report, Json) + "\n" : report.ToText());
            return Ok;
        }, ct));
        return cmd;
    }

    // ---- shared plumbing ----------------------------------------------------------------

    /// <summary>The connection strings of an invocation, as the user gave them.</summary>
    internal sealed record Connections(string Source, string? Store);

    internal static string RequireFormat(ParseResult r, SharedOptions o, string command, params string[] supported)
    {
        var format = r.GetValue(o.Format) ?? "table";
        if (!supported.Contains(format))
            throw new CliException($"--format {format} is not supported by {command} (use {string.Join(" or ", supported)})");
        return format;
    }

    /// <summary>Runs a command body that needs the connection strings; turns every failure into one line on stderr.</summary>
    internal static Task<int> Guard(ParseResult r, CliEnvironment env, SharedOptions o, Func<Connections, CancellationToken, Task<int>> body,
        CancellationToken ct, bool gracefulOnCancel = false) =>
        GuardCore(r, env, o, async token =>
        {
            var source = r.GetValue(o.Source);
            if (string.IsNullOrWhiteSpace(source)) source = env.GetVariable("HINDSIGHT_SOURCE");
            if (string.IsNullOrWhiteSpace(source))
                throw new CliException("no source database: pass --source or set HINDSIGHT_SOURCE (a postgresql:// URL or key=value connection string)");
            var store = r.GetValue(o.Store);
            if (string.IsNullOrWhiteSpace(store)) store = env.GetVariable("HINDSIGHT_STORE");
            if (string.IsNullOrWhiteSpace(store)) store = null;
            // Fail early, and with the option's name, on connection strings that cannot be read.
            Validate(source, "--source");
            if (store is not null) Validate(store, "--store");
            return await body(new Connections(source, store), token);
        }, ct, gracefulOnCancel, r.GetValue(o.Source) ?? env.GetVariable("HINDSIGHT_SOURCE"),
           r.GetValue(o.Store) ?? env.GetVariable("HINDSIGHT_STORE"));

    private static void Validate(string connectionString, string option)
    {
        try { ConnectionStrings.Parse(connectionString); }
        catch (ConnectionStringException e) { throw new CliException($"{option}: {e.Message}"); }
    }

    /// <summary>Runs a command body; turns every failure into one line on stderr (details with --verbose).</summary>
    internal static async Task<int> GuardCore(ParseResult r, CliEnvironment env, SharedOptions o, Func<CancellationToken, Task<int>> body,
        CancellationToken ct, bool gracefulOnCancel, params string?[] secrets)
    {
        var verbose = r.GetValue(o.Verbose);
        try
        {
            return await body(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            if (gracefulOnCancel) return Ok;
            await env.Error.WriteLineAsync("hindsight: interrupted");
            return Interrupted;
        }
        catch (Exception e)
        {
            var message = ConnectionStrings.Scrub(Describe(e), secrets);
            await env.Error.WriteLineAsync("hindsight: error: " + message);
            if (verbose) await env.Error.WriteLineAsync(ConnectionStrings.Scrub(e.ToString(), secrets));
            return Failed;
        }
    }

    /// <summary>One line that says what went wrong, without a stack trace.</summary>
    internal static string Describe(Exception e)
    {
        switch (e)
        {
            case CliException or SetupException or ConnectionStringException or Hindsight.Query.AuditQueryException:
                return OneLine(e.Message);
            case PostgresException pg:
                var text = pg.MessageText;
                if (!string.IsNullOrEmpty(pg.Detail)) text += " (" + pg.Detail + ")";
                if (!string.IsNullOrEmpty(pg.Hint)) text += " Hint: " + pg.Hint;
                return OneLine($"PostgreSQL said: {text} [{pg.SqlState}]");
            case NpgsqlException npg:
                var inner = npg.InnerException is { } i && !string.IsNullOrEmpty(i.Message) ? ": " + i.Message : "";
                return OneLine("cannot reach the database: " + npg.Message + inner);
            default:
                var first = OneLine(e.Message);
                return e.Message.Contains('\n') ? first + " (--verbose shows more)" : first;
        }
    }

    private static string OneLine(string s)
    {
        var i = s.IndexOfAny(['\r', '\n']);
        return (i < 0 ? s : s[..i]).Trim();
    }
}

/// <summary>The options every command shares (design §5). One set per parser.</summary>
internal sealed class SharedOptions
{
    public Option<string?> Source { get; } = new("--source")
    {
        Description = "Tracked database: libpq URL (postgresql://user@host:5432/db) or key=value (host=... dbname=... / Host=...;Database=...). Default: $HINDSIGHT_SOURCE",
        HelpName = "connection",
        Recursive = true,
    };

    public Option<string?> Store { get; } = new("--store")
    {
        Description = "Database that stores the changes (schema hindsight). Default: $HINDSIGHT_STORE, else the source database",
        HelpName = "connection",
        Recursive = true,
    };

    public Option<string> Slot { get; } = new("--slot")
    {
        Description = "Logical replication slot",
        DefaultValueFactory = _ => "hindsight",
        Recursive = true,
    };

    public Option<string> Publication { get; } = new("--publication")
    {
        Description = "Publication naming the tracked tables",
        DefaultValueFactory = _ => "hindsight",
        Recursive = true,
    };

    public Option<string> Format { get; } = CreateFormat();

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Show details of errors, and debug logs",
        Recursive = true,
    };

    private static Option<string> CreateFormat()
    {
        var o = new Option<string>("--format")
        {
            Description = "Output format: table, json or csv (csv: status, demo, changes, history, as-of)",
            DefaultValueFactory = _ => "table",
            Recursive = true,
        };
        o.AcceptOnlyFromAmong("table", "json", "csv");
        return o;
    }
}

/// <summary>A usage error found by the CLI itself.</summary>
internal sealed class CliException(string message) : Exception(message);
