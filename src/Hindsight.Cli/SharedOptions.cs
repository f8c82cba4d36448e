using System.CommandLine;
using Hindsight.Configuration;

namespace Hindsight.Cli;

/// <summary>The options every command shares. One set per parser.</summary>
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

    public Option<string?> SourceName { get; } = new("--source-name")
    {
        Description = "The source's name in the store: what its changes carry, and what queries are narrowed to ('*': every source, for queries). " +
                      "Default: $HINDSIGHT_SOURCE_NAME, else the name the source database has in the store, else its database name",
        HelpName = "name",
        Recursive = true,
    };

    public Option<string> Slot { get; } = new("--slot")
    {
        Description = "Logical replication slot",
        DefaultValueFactory = _ => ConnectionOptions.DefaultSlot,
        Recursive = true,
    };

    public Option<string> Publication { get; } = new("--publication")
    {
        Description = "Publication naming the tracked tables",
        DefaultValueFactory = _ => ConnectionOptions.DefaultPublication,
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
            Description = "Output format: table, json or csv (csv: status, changes, history, as-of)",
            DefaultValueFactory = _ => "table",
            Recursive = true,
        };
        o.AcceptOnlyFromAmong("table", "json", "csv");
        return o;
    }
}
