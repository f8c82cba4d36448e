using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hindsight.Configuration;
using Hindsight.Setup;
using Hindsight.Worker;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hindsight.Cli;

/// <summary>
/// The <c>hindsight</c> command line (docs/design.md, "CLI conventions"): parsing, the shared options and the error plumbing. Each command is a
/// file of its own (<c>SetupCommand</c>, <c>RunCommand</c>, <c>StatusCommand</c>, <c>TeardownCommand</c>,
/// <c>ChangesCommand</c>, <c>HistoryCommand</c>, <c>AsOfCommand</c>, <c>RevertCommand</c>, <c>TrendsCommand</c>, <c>ServeCommand</c>).
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

    internal static readonly CaptureOptions CaptureDefaults = new() { SourceConnectionString = "" };

    /// <summary>
    /// This build's version and the commit it was built from (<c>0.9.0+&lt;commit&gt;</c>), as <c>--version</c> prints it:
    /// the first line a long-running command logs, so that a log says which build wrote it.
    /// </summary>
    internal static string Version { get; } =
        typeof(HindsightCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

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
        var root = Build(env);
        if (args.Length == 0)
        {
            await InvokeAsync(root, "hindsight", ["--help"], env, cancellationToken);
            return Failed;
        }
        var (withSettings, fromConfig, error) = ConfigArguments.Apply(root, args, env);
        if (error is not null)
        {
            await env.Error.WriteLineAsync($"hindsight: error: {error}");
            return Failed;
        }
        return await InvokeAsync(root, "hindsight", withSettings, env, cancellationToken, fromConfig);
    }

    /// <summary>What the parser says is wrong with <paramref name="args"/> (nothing is run): empty when they parse.</summary>
    internal static IReadOnlyList<string> ParseErrors(string[] args) => ParseOnly(args).Errors.Select(e => e.Message).ToList();

    private static ParseResult ParseOnly(string[] args) => Build(CliEnvironment.Captured(TextWriter.Null, TextWriter.Null)).Parse(args);

    /// <summary>
    /// Parses and runs a command line against <paramref name="root"/>: a parse error is one line on stderr naming
    /// <paramref name="program"/>, and the first SIGINT or SIGTERM cancels the command (when the environment handles signals).
    /// </summary>
    internal static async Task<int> InvokeAsync(RootCommand root, string program, string[] args, CliEnvironment env, CancellationToken cancellationToken,
        IReadOnlyDictionary<Option, string>? fromConfig = null)
    {
        using var stop = new GracefulStop(env.Error, env.HandleSignals);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, cancellationToken);
        var config = new InvocationConfiguration
        {
            Output = env.Output,
            Error = env.Error,
            ProcessTerminationTimeout = null, // signals are handled by GracefulStop
            EnableDefaultExceptionHandler = false,
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line, not the whole help text.
            var command = string.Join(' ', new[] { program }.Concat(CommandPath(parsed.CommandResult.Command, root)));
            await env.Error.WriteLineAsync(
                $"hindsight: error: {string.Join("; ", parsed.Errors.Select(e => Setting(e, fromConfig) + e.Message.Replace('\n', ' ').Replace("\t", "", StringComparison.Ordinal).TrimEnd('.')))} (see '{command} --help')");
            return Failed;
        }
        return await parsed.InvokeAsync(config, linked.Token);
    }

    /// <summary>"setting Hindsight:X: " when the error is about a value configuration gave, so that the key is named.</summary>
    private static string Setting(System.CommandLine.Parsing.ParseError error, IReadOnlyDictionary<Option, string>? fromConfig)
    {
        // A refused value is reported on the option, or on its argument.
        var option = error.SymbolResult as System.CommandLine.Parsing.OptionResult ?? error.SymbolResult?.Parent as System.CommandLine.Parsing.OptionResult;
        return option is not null && fromConfig is not null && fromConfig.TryGetValue(option.Option, out var key) ? $"setting {key}: " : "";
    }

    /// <summary>
    /// An option's value inside a validator; false when it is not of the option's type (the parser reports that itself:
    /// reading it would throw, and a stack trace is no answer to <c>--batch-size many</c>).
    /// </summary>
    internal static bool Parsed<T>(System.CommandLine.Parsing.OptionResult result, out T value)
    {
        try { value = result.GetValueOrDefault<T>()!; return true; }
        catch (InvalidOperationException) { value = default!; return false; }
    }

    /// <summary>The command tree, for tests that parse without running.</summary>
    internal static RootCommand BuildForTests(CliEnvironment env) => Build(env);

    private static RootCommand Build(CliEnvironment env)
    {
        var o = new SharedOptions();
        var root = new RootCommand(
            "hindsight: an audit trail for PostgreSQL, captured from logical replication.\n" +
            "Start with 'hindsight setup' and 'hindsight run' against your database (to see it at work first, run the demo from a checkout: " +
            "'dotnet run --project samples/Hindsight.Demo').");
        root.Options.Add(o.Source);
        root.Options.Add(o.Store);
        root.Options.Add(o.SourceName);
        root.Options.Add(o.Slot);
        root.Options.Add(o.Publication);
        root.Options.Add(o.Format);
        root.Options.Add(o.Verbose);

        root.Subcommands.Add(SetupCommand.Create(env, o));
        root.Subcommands.Add(RunCommand.Create(env, o));
        root.Subcommands.Add(IngestCommand.Create(env, o));
        root.Subcommands.Add(StatusCommand.Create(env, o));
        root.Subcommands.Add(TeardownCommand.Create(env, o));
        root.Subcommands.Add(ChangesCommand.Create(env, o));
        root.Subcommands.Add(HistoryCommand.Create(env, o));
        root.Subcommands.Add(SchemaChangesCommand.Create(env, o));
        root.Subcommands.Add(AsOfCommand.Create(env, o));
        root.Subcommands.Add(RevertCommand.Create(env, o));
        root.Subcommands.Add(TrendsCommand.Create(env, o));
        foreach (var command in RetentionCommands.Create(env, o)) root.Subcommands.Add(command);
        foreach (var command in ChainCommands.Create(env, o)) root.Subcommands.Add(command);
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

    // ---- options shared by commands ------------------------------------------------------
    internal static Option<string[]> ListOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "names",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>A duration in whole milliseconds from 0 to <paramref name="max"/>, defaulting to <paramref name="defaultValue"/>.</summary>
    /// <summary>A duration in milliseconds. Its help name, <c>ms</c>, also tells configuration that a TimeSpan
    /// (<c>00:00:00.010</c>, as the hosted worker's options take it) converts to it.</summary>
    internal static Option<int> Milliseconds(string name, string description, TimeSpan defaultValue, int max, int min = 0)
    {
        var o = new Option<int>(name) { Description = description, DefaultValueFactory = _ => (int)defaultValue.TotalMilliseconds, HelpName = MillisecondsHelpName };
        o.Validators.Add(result =>
        {
            if (Parsed(result, out int v) && (v < min || v > max)) result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be between {min} and {max} ms"));
        });
        return o;
    }

    internal const string MillisecondsHelpName = "ms";

    internal static Option<int> PositiveInt(string name, string description, int defaultValue)
    {
        var o = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.Validators.Add(result =>
        {
            if (Parsed(result, out int v) && v <= 0) result.AddError($"{name} must be a positive number");
        });
        return o;
    }

    /// <summary>Console logging to stderr, one line per entry, UTC timestamps.</summary>
    internal static ILoggerFactory CreateLoggerFactory(LogLevel level, bool json = false) => LoggerFactory.Create(b => ConsoleLogging(b, level, json));

    /// <summary>
    /// The CLI's console logging on a builder: stderr, one line per entry, UTC timestamps, Npgsql's chatter left out;
    /// with <paramref name="json"/>, one JSON object per line (timestamp, level, category, message and the message's
    /// named values), for log shippers.
    /// </summary>
    internal static ILoggingBuilder ConsoleLogging(ILoggingBuilder b, LogLevel level, bool json = false)
    {
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (json)
            b.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        else
            b.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
                o.UseUtcTimestamp = true;
            });
        return b.AddFilter("Npgsql", LogLevel.Warning).SetMinimumLevel(level);
    }

    /// <summary><c>--log-format text|json</c> of the long-running commands.</summary>
    internal static Option<string> LogFormatOption() => new Option<string>("--log-format")
    {
        Description = "text (one line per entry) or json (one JSON object per line, for log shippers)",
        DefaultValueFactory = _ => "text",
    }.AcceptOnlyFromAmong("text", "json");

    // ---- shared plumbing ----------------------------------------------------------------

    /// <summary>
    /// The installation an invocation names, as the user gave it: --source, --store and --source-name (or their
    /// environment variables), --slot and --publication. The options of setup, run, status and teardown start from it.
    /// </summary>
    internal sealed class Connections : ConnectionOptions;

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
            var sourceName = r.GetValue(o.SourceName);
            if (string.IsNullOrWhiteSpace(sourceName)) sourceName = env.GetVariable("HINDSIGHT_SOURCE_NAME");
            if (string.IsNullOrWhiteSpace(sourceName)) sourceName = null;
            if (sourceName is not null && sourceName != "*")
            {
                try { Store.SourceRegistry.ValidateName(sourceName); }
                catch (ArgumentException e) { throw new CliException(e.Message); }
            }
            return await body(new Connections
            {
                SourceConnectionString = source,
                StoreConnectionString = store,
                SourceName = sourceName,
                Slot = r.GetValue(o.Slot)!,
                Publication = r.GetValue(o.Publication)!,
            }, token);
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
            case CliException or SetupException or ConnectionStringException or Hindsight.Query.AuditQueryException or Hindsight.Queue.QueueConfigurationException
                or Hindsight.Retention.RetentionException or Hindsight.Chain.ChainException:
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
