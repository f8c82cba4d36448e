namespace Hindsight.Query;

/// <summary>
/// Which stored changes a read is confined to: one source (a tracked database under its name in the store), and/or every
/// source whose database has a name. Null for both: the whole store.
/// </summary>
/// <param name="Source">The source's name in the store, or null for any.</param>
/// <param name="Database">The tracked database's name (several sources may share one), or null for any.</param>
internal sealed record SourceScope(string? Source, string? Database)
{
    /// <summary>The scope of the two filters, or null when neither is set.</summary>
    public static SourceScope? Of(string? source, string? database) =>
        source is null && database is null ? null : new SourceScope(source, database);

    /// <summary>The same scope narrowed to one source (a transaction found in it).</summary>
    public SourceScope WithSource(string source) => this with { Source = source };

    /// <summary>How a person reads it in messages: " of source a", " of database b", or "".</summary>
    public static string Describe(SourceScope? scope) => scope switch
    {
        { Source: { } s } => $" of source {s}",
        { Database: { } d } => $" of database {d}",
        _ => "",
    };
}
