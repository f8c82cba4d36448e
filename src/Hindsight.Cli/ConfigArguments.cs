using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace Hindsight.Cli;

/// <summary>
/// Options from configuration, the .NET way: <c>appsettings.json</c> in the current directory, then a file given with
/// <c>--config</c>, then environment variables (<c>Hindsight__CommitInterval</c>), then the command line, which wins. Keys
/// live in a <c>Hindsight</c> section and are the options' names in PascalCase (<c>--commit-interval</c>:
/// <c>Hindsight:CommitInterval</c>; a list is a JSON array). What configuration gives becomes command-line arguments, so
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

        // Every option any command has, by its key.
        var known = new Dictionary<string, Option>(StringComparer.OrdinalIgnoreCase);
        foreach (var option in AllOptions(root)) known.TryAdd(Key(option), option);
        if (settings.FirstOrDefault(s => !known.ContainsKey(s.Key)) is { } unknown)
            return (args, none, $"unknown setting {Section}:{unknown.Key} (settings are the options of run, serve, setup and the other commands, in PascalCase)");

        var parsed = root.Parse(args);
        var applicable = parsed.CommandResult.Command.Options.Concat(root.Options.Where(o => o.Recursive)).ToList();
        var extra = new List<string>();
        var fromConfig = new Dictionary<Option, string>();
        foreach (var option in applicable)
        {
            var key = $"{Section}:{Key(option)}";
            var setting = config.GetSection(key);
            if (!setting.Exists() || parsed.GetResult(option) is { Implicit: false }) continue; // the command line wins
            var values = setting.GetChildren().Any() ? setting.GetChildren().Select(c => c.Value ?? "").ToList() : [setting.Value ?? ""];
            foreach (var value in values) extra.AddRange([option.Name, value]);
            fromConfig[option] = key;
        }
        return ([.. args, .. extra], fromConfig, null);
    }

    /// <summary>The setting's key of an option: <c>--commit-interval</c> is <c>CommitInterval</c>.</summary>
    public static string Key(Option option) =>
        string.Concat(option.Name.TrimStart('-').Split('-').Select(part => part.Length == 0 ? "" : char.ToUpperInvariant(part[0]) + part[1..]));

    private static IEnumerable<Option> AllOptions(Command command) =>
        command.Options.Where(o => o.Name is not "--help" and not "--version")
            .Concat(command.Subcommands.SelectMany(AllOptions));
}
