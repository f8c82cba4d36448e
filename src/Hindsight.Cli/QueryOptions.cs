using System.CommandLine;
using Hindsight.Configuration;
using Npgsql;

namespace Hindsight.Cli;

/// <summary>Options and input parsing shared by <c>changes</c>, <c>history</c> and <c>as-of</c> (docs/design.md, "CLI conventions").</summary>
internal static class QueryOptions
{
    public static Option<string[]> Tables(string description) => new("--table")
    {
        Description = description,
        HelpName = "table",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    public static Option<string> Table(string description, bool required) => new("--table")
    {
        Description = description, HelpName = "table", Required = required,
    };

    public static Option<string> Key(string description, bool required) => new("--key")
    {
        Description = description, HelpName = "key", Required = required,
    };

    public static Option<string> Time(string name, string description, bool required = false) => new(name)
    {
        Description = description + " (ISO 8601, e.g. 2025-01-31T12:00:00Z; without an offset: UTC)", HelpName = "time", Required = required,
    };

    /// <summary>The store to read, as an Npgsql data source (the source database unless --store).</summary>
    public static NpgsqlDataSource OpenStore(HindsightCli.Connections conn) =>
        NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(conn.StoreConnectionString ?? conn.SourceConnectionString));

    /// <summary>
    /// Which stored changes a query reads: those of --source-name (every source for <c>*</c>); else those of the source
    /// --source is in the store; else, when the store does not know it (or the source cannot be reached: the store can
    /// still be read), those carrying --source's database name.
    /// </summary>
    public static async Task<(string? Source, string? Database)> ScopeAsync(HindsightCli.Connections conn, NpgsqlDataSource store, CancellationToken ct)
    {
        if (conn.SourceName == "*") return (null, null);
        if (conn.SourceName is not null) return (conn.SourceName, null);
        var database = ConnectionStrings.Parse(conn.SourceConnectionString).Database;
        try
        {
            await using var source = NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(conn.SourceConnectionString));
            var identity = await Store.SourceIdentity.ReadAsync(source, null, ct);
            if (await Store.SourceRegistry.FindNameAsync(store, identity, null, ct) is { } name) return (name, null);
        }
        catch (Store.SourceNameException e) { throw new CliException(e.Message); }
        catch (NpgsqlException) { /* the source is away: fall back to its database name */ }
        return (null, database);
    }

    /// <summary>Parses an LSN in PostgreSQL's form (e.g. 0/16B3748) that fits the store's bigint commit_lsn.</summary>
    public static NpgsqlTypes.NpgsqlLogSequenceNumber ParseLsn(string text, string option)
    {
        if (NpgsqlTypes.NpgsqlLogSequenceNumber.TryParse(text.Trim(), out var lsn) && (ulong)lsn <= long.MaxValue) return lsn;
        throw new CliException($"{option}: '{text}' is not an LSN (e.g. 0/16B3748)");
    }

    /// <summary>Runs library code that validates input, turning its <see cref="ArgumentException"/> into a usage error.</summary>
    public static T Input<T>(Func<T> build)
    {
        try { return build(); }
        catch (ArgumentException e)
        {
            var message = e.Message;
            var suffix = $" (Parameter '{e.ParamName}')";
            if (e.ParamName is not null && message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
            throw new CliException(message);
        }
    }
}
