using System.ComponentModel;
using Hindsight.Model;
using Microsoft.AspNetCore.Mvc;

namespace Hindsight.Server.Http;

/// <summary>
/// The table that a read of its rows names, how many it returns and which source's it is (<c>/api/history</c>,
/// <c>/api/as-of</c>), as query parameters. Bound as text and read by <see cref="QueryInput"/>, so a bad value is a 400
/// that says which and why.
/// </summary>
internal sealed class TableParameters
{
    [FromQuery(Name = "table"), Description("The table: table, schema.table or \"Quoted Name\"")]
    public string? Table { get; set; }

    [FromQuery(Name = "limit"), Description("Most rows (as-of) or versions (history) to return (default and most: the server's page size)")]
    public string? Limit { get; set; }

    [FromQuery(Name = "database"), Description("The tracked database, by name (default: the server's own source; * for any)")]
    public string? Database { get; set; }

    [FromQuery(Name = "source"), Description("The source, by its name in the store (default: the server's own source; * for any)")]
    public string? Source { get; set; }

    /// <summary>The table, and the page size: the server's when none is asked for, and at most that.</summary>
    public (TableName Table, int Limit) Read(HindsightApiOptions options) =>
        (QueryInput.Table(Table), QueryInput.Limit(Limit, options.MaxPageSize, options.MaxPageSize));

    /// <summary>The source and database the read is narrowed to (<see cref="HindsightBackend.ScopeAsync"/>).</summary>
    public Task<(string? Source, string? Database)> ScopeAsync(HindsightBackend backend, CancellationToken ct) =>
        backend.ScopeAsync(Source, Database, ct);
}
