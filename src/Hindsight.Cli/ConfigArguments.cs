using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Hindsight.Cli;

/// <summary>
/// Options from configuration, the .NET way: <c>appsettings.json</c> in the current directory, then a file given with
/// <c>--config</c>, then environment variables (<c>Hindsight__CommitInterval</c>), then the command line, which wins. Keys
/// live in a <c>Hindsight</c> section and are the options' names in PascalCase (<c>--commit-interval</c>:
/// <c>Hindsight:CommitInterval</c>; a list is a JSON array). The hosted worker's keys (<c>SourceConnectionString</c>,
/// durations as TimeSpans, …) work too, so an app's <c>Hindsight</c> section serves <c>hindsight run</c> in its folder.
/// What configuration gives becomes command-line arguments, so
/// the parser checks it as it checks a command line; a key that is no option of any command, or a value the parser
/// refuses, stops the command with the key's name.
/// </summary>
internal static class ConfigArguments
{
    public const string Section = "Hindsight";
    private const string ConfigOption = "--config";

    /// <summary>The arguments with the configured options added, or the one-line error to stop with.</summary>
    public static (string[] Args, IReadOnlyDictionary<Option, string> FromConfig, string? Error) Apply(RootCommand root, string[] args, CliEnvironment env)
    {
        var none = new Dictionary<Option, string>();
        var configIndex = Array.IndexOf(args, ConfigOption);
        string? configFile = null;
        if (configIndex >= 0)
        {
            if (configIndex + 1 >= args.Length) return (args, none, "--config needs a file");
            configFile = Path.GetFullPath(args[configIndex + 1]);
            if (!File.Exists(configFile)) return (args, none, $"--config: {configFile} does not exist");
            args = [.. args[..configIndex], .. args[(configIndex + 2)..]];
        }

        var builder = new ConfigurationBuilder();
        if (env.SettingsDirectory is { } dir && File.Exists(Path.Combine(dir, "appsettings.json"))) builder.AddJsonFile(Path.Combine(dir, "appsettings.json"));
        if (configFile is not null) builder.AddJsonFile(configFile);
        var prefix = Section + "__";
        builder.AddInMemoryCollection(env.AllVariables()
            .Where(v => v.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(v => new KeyValuePair<string, string?>(v.Key.Replace("__", ":", StringComparison.Ordinal), v.Value)));
        IConfiguration config;
        try { config = builder.Build(); }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException) { return (args, none, $"configuration: {e.Message}"); }
        var settings = config.GetSection(Section).GetChildren().ToList();
        if (settings.Count == 0) return (args, none, null);
        if (config.GetSection($"{Section}:{SourcesKey}") is { } sourcesSection && sourcesSection.Exists())
        {
            if (root.Parse(args).CommandResult.Command.Name != "run")
                return (args, none, $"{Section}:{SourcesKey} lists sources for 'hindsight run'; other commands take one source (--source)");
            var (sources, sourcesError) = ReadSources(sourcesSection);
            if (sourcesError is not null) return (args, none, sourcesError);
            env.ConfiguredSources = sources;
            settings.RemoveAll(s => string.Equals(s.Key, SourcesKey, StringComparison.OrdinalIgnoreCase));
        }

        // Every option any command has, by its key, and the hosted worker's names for some of them.
        var known = new Dictionary<string, Option>(StringComparer.OrdinalIgnoreCase);
        foreach (var option in AllOptions(root)) known.TryAdd(Key(option), option);
        if (settings.FirstOrDefault(s => !known.ContainsKey(s.Key) && !HostedKeys.ContainsKey(s.Key)) is { } unknown)
            return (args, none, $"unknown setting {Section}:{unknown.Key} (settings are the options of run, serve, setup and the other commands, in PascalCase)");

        var parsed = root.Parse(args);
        var applicable = parsed.CommandResult.Command.Options.Concat(root.Options.Where(o => o.Recursive)).ToList();
        var extra = new List<string>();
        var fromConfig = new Dictionary<Option, string>();
        foreach (var option in applicable)
        {
            if (parsed.GetResult(option) is { Implicit: false }) continue; // the command line wins
            // The option's own key first: when a file has both, it wins over the hosted worker's name.
            foreach (var name in HostedKeys.Where(h => h.Value.Option == Key(option)).Select(h => h.Key).Prepend(Key(option)))
            {
                var key = $"{Section}:{name}";
                var setting = config.GetSection(key);
                if (!setting.Exists()) continue;
                var values = setting.GetChildren().Any() ? setting.GetChildren().Select(c => c.Value ?? "").ToList() : [setting.Value ?? ""];
                var convert = HostedKeys.TryGetValue(name, out var hosted) && hosted.Convert is { } c ? c : value => Duration(option, value);
                foreach (var value in values.Select(convert).OfType<string>()) extra.AddRange([option.Name, value]);
                fromConfig[option] = key;
                break;
            }
        }
        return ([.. args, .. extra], fromConfig, null);
    }

    /// <summary>The key of the list of sources one <c>run</c> captures: objects with <c>Source</c> (required), <c>SourceName</c>,
    /// <c>Slot</c> and <c>Publication</c>; every other setting applies to all of them.</summary>
    public const string SourcesKey = "Sources";

    private static readonly string[] SourceKeys = ["Source", "SourceName", "Slot", "Publication"];

    private static (IReadOnlyList<ConfiguredSource> Sources, string? Error) ReadSources(IConfigurationSection section)
    {
        var sources = new List<ConfiguredSource>();
        foreach (var entry in section.GetChildren())
        {
            var where = $"{Section}:{SourcesKey}:{entry.Key}";
            if (entry.GetChildren().FirstOrDefault(c => !SourceKeys.Contains(c.Key, StringComparer.OrdinalIgnoreCase)) is { } unknown)
                return ([], $"unknown setting {where}:{unknown.Key} (a source takes {string.Join(", ", SourceKeys)})");
            if (entry["Source"] is not { Length: > 0 } source)
                return ([], $"{where} has no Source (its connection string)");
            try { Hindsight.Configuration.ConnectionStrings.Parse(source); }
            catch (Hindsight.Configuration.ConnectionStringException e) { return ([], $"{where}:Source: {e.Message}"); }
            var name = entry["SourceName"] is { Length: > 0 } n ? n : null;
            if (name is not null)
            {
                try { Hindsight.Store.SourceRegistry.ValidateName(name); }
                catch (ArgumentException e) { return ([], $"{where}:SourceName: {e.Message}"); }
            }
            sources.Add(new ConfiguredSource(source, name, entry["Slot"] is { Length: > 0 } slot ? slot : null,
                entry["Publication"] is { Length: > 0 } publication ? publication : null));
        }
        if (sources.Count == 0) return ([], $"{Section}:{SourcesKey} is empty: list the sources, or leave it out and give --source");
        return (sources, null);
    }

    /// <summary>
    /// The hosted worker's keys (<c>HindsightCaptureOptions</c>, <c>AddHindsightCapture</c>) that name an option of the
    /// command line differently, so that one <c>Hindsight</c> section serves both: the option's key, and how a value
    /// converts (null: drop it). Its durations, TimeSpans there, convert by the option's unit (see <see cref="Duration"/>).
    /// </summary>
    private static readonly Dictionary<string, (string Option, Func<string, string?>? Convert)> HostedKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["SourceConnectionString"] = ("Source", null),
        ["StoreConnectionString"] = ("Store", null),
        ["MaxLag"] = ("MaxLagSeconds", null),
        ["SigningKeyPath"] = ("SigningKey", null),
        ["CheckpointDirectory"] = ("CheckpointDir", null),
        // true is the command line's default (no --no-streaming); anything else goes to the option's parser.
        ["StreamLargeTransactions"] = ("NoStreaming", v => bool.TryParse(v, out var stream) ? stream ? null : "true" : v),
    };

    /// <summary>A TimeSpan (<c>00:00:00.010</c>) for an option in milliseconds or seconds, as that number; any other value as it is.</summary>
    private static string Duration(Option option, string value)
    {
        if (!value.Contains(':', StringComparison.Ordinal) || !TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span)) return value;
        return option.HelpName switch
        {
            HindsightCli.MillisecondsHelpName => ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            StatusCommand.SecondsHelpName => ((long)span.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            _ => value,
        };
    }

    /// <summary>The setting's key of an option: <c>--commit-interval</c> is <c>CommitInterval</c>.</summary>
    public static string Key(Option option) =>
        string.Concat(option.Name.TrimStart('-').Split('-').Select(part => part.Length == 0 ? "" : char.ToUpperInvariant(part[0]) + part[1..]));

    private static IEnumerable<Option> AllOptions(Command command) =>
        command.Options.Where(o => o.Name is not "--help" and not "--version")
            .Concat(command.Subcommands.SelectMany(AllOptions));
}
