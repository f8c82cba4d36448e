namespace Hindsight.Cli;

/// <summary>What a command invocation talks to: its output streams and environment variables.</summary>
/// <param name="Output">Standard output (reports, tables, JSON).</param>
/// <param name="Error">Standard error (errors, progress of long commands).</param>
/// <param name="GetVariable">Environment variable look-up (HINDSIGHT_SOURCE, HINDSIGHT_STORE).</param>
/// <param name="HandleSignals">Whether SIGINT/SIGTERM stop the command gracefully (the real process only).</param>
internal sealed record CliEnvironment(TextWriter Output, TextWriter Error, Func<string, string?> GetVariable, bool HandleSignals)
{
    /// <summary>Every environment variable (settings given as <c>Hindsight__Name</c>).</summary>
    public Func<IEnumerable<KeyValuePair<string, string>>> AllVariables { get; init; } = () => [];

    /// <summary>Where <c>appsettings.json</c> is looked for: the current directory; none when null.</summary>
    public string? SettingsDirectory { get; init; }

    /// <summary>The sources configuration lists (<c>Hindsight:Sources</c>), for a <c>run</c> that captures several; set
    /// when configuration is read.</summary>
    public IReadOnlyList<ConfiguredSource> ConfiguredSources { get; set; } = [];

    /// <summary>The process's console and environment.</summary>
    public static CliEnvironment Console() =>
        new(System.Console.Out, System.Console.Error, Environment.GetEnvironmentVariable, HandleSignals: true)
        {
            AllVariables = () => Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .Select(e => new KeyValuePair<string, string>((string)e.Key, e.Value as string ?? "")),
            SettingsDirectory = Directory.GetCurrentDirectory(),
        };

    /// <summary>Captured output and the given variables (tests).</summary>
    public static CliEnvironment Captured(TextWriter output, TextWriter error, IReadOnlyDictionary<string, string>? variables = null) =>
        new(output, error, name => variables is not null && variables.TryGetValue(name, out var v) ? v : null, HandleSignals: false)
        {
            AllVariables = () => variables ?? new Dictionary<string, string>(),
        };
}

/// <summary>A source of <c>Hindsight:Sources</c>: its connection, and optionally its name, slot and publication.</summary>
internal sealed record ConfiguredSource(string Source, string? SourceName, string? Slot, string? Publication);
