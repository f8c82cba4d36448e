using System.ComponentModel;
using Hindsight.Query;
using Microsoft.AspNetCore.Mvc;

namespace Hindsight.Server.Http;

/// <summary>
/// Which schema changes <c>/api/schema-changes</c> lists, as query parameters named as the change filter's. Bound as
/// text and read by <see cref="QueryInput"/>, so a bad value is a 400 that says which and why.
/// </summary>
internal sealed class SchemaChangeParameters
{
    /// <summary>The list's length when none is asked for.</summary>
    public const int DefaultLimit = 100;

    [FromQuery(Name = "table"), Description("Tables, by any name they had (renames are followed): table (any schema), schema.table or \"Quoted Name\"; repeated or comma-separated")]
    public string[]? Table { get; set; }

    [FromQuery(Name = "since"), Description("Committed at or after this time (ISO 8601; without an offset: UTC)")]
    public string? Since { get; set; }

    [FromQuery(Name = "until"), Description("Committed before this time (ISO 8601)")]
    public string? Until { get; set; }

    [FromQuery(Name = "source"), Description("The source, by its name in the store (default: the server's own source; * for every source)")]
    public string? Source { get; set; }

    [FromQuery(Name = "database"), Description("The tracked database, by name, of any source (* for every database in the store)")]
    public string? Database { get; set; }

    [FromQuery(Name = "limit"), Description("Most schema changes to return, newest first (default 100; at most the server's page size, 1000 unless configured)")]
    public string? Limit { get; set; }

    [FromQuery(Name = "snapshots"), Description("true: also the columns recorded when tracking began (command_tag SNAPSHOT); default false")]
    public string? Snapshots { get; set; }

    /// <summary>The filter, narrowed to the scope <see cref="HindsightBackend.ScopeAsync"/> makes of <see cref="Source"/>
    /// and <see cref="Database"/>.</summary>
    public async Task<SchemaChangeFilter> ToFilterAsync(HindsightBackend backend, HindsightApiOptions options, CancellationToken ct)
    {
        // Read before the scope, so bad input is refused without a look-up in the store.
        var tables = QueryInput.Tables(Table);
        var since = IsoTime.Parse(Since, "since");
        var until = IsoTime.Parse(Until, "until");
        var limit = QueryInput.Limit(Limit, Math.Min(options.MaxPageSize, SchemaChangeFilter.MaxLimit), DefaultLimit);
        var snapshots = QueryInput.Flag(Snapshots, "snapshots");
        var (source, database) = await backend.ScopeAsync(Source, Database, ct).ConfigureAwait(false);
        return new SchemaChangeFilter
        {
            Tables = tables, Since = since, Until = until, Source = source, Database = database,
            IncludeSnapshots = snapshots, Limit = limit,
        };
    }
}
