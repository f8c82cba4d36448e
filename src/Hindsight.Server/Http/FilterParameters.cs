using System.ComponentModel;
using Hindsight.Query;
using Microsoft.AspNetCore.Mvc;

namespace Hindsight.Server.Http;

/// <summary>
/// The change filter as query parameters (<c>/api/changes</c>, <c>/api/trends</c>, <c>/api/changes/stream</c>), named as
/// the CLI's options. Bound as text and read by <see cref="QueryInput"/>, so a bad value is a 400 that says which and why.
/// </summary>
internal sealed class FilterParameters
{
    [FromQuery(Name = "table"), Description("Tables: table (any schema), schema.table or \"Quoted Name\"; repeated or comma-separated")]
    public string[]? Table { get; set; }

    [FromQuery(Name = "key"), Description("The row's primary key as stored; a composite key as a JSON array, e.g. [1,\"a\"]")]
    public string? Key { get; set; }

    [FromQuery(Name = "operation"), Description("CREATE, UPDATE, DELETE, TRUNCATE, SNAPSHOT; repeated or comma-separated")]
    public string[]? Operation { get; set; }

    [FromQuery(Name = "since"), Description("Committed at or after this time (ISO 8601; without an offset: UTC)")]
    public string? Since { get; set; }

    [FromQuery(Name = "until"), Description("Committed before this time (ISO 8601)")]
    public string? Until { get; set; }

    [FromQuery(Name = "transaction"), Description("The source transaction id (xid)")]
    public string? Transaction { get; set; }

    [FromQuery(Name = "context"), Description("A JSON object the change's context must contain, e.g. {\"userId\":\"u1\"}")]
    public string? Context { get; set; }

    [FromQuery(Name = "before"), Description("A JSON object the row before the change must contain")]
    public string? Before { get; set; }

    [FromQuery(Name = "after"), Description("A JSON object the row after the change must contain")]
    public string? After { get; set; }

    [FromQuery(Name = "source"), Description("The source, by its name in the store (default: the server's own source; * for every source)")]
    public string? Source { get; set; }

    [FromQuery(Name = "database"), Description("The tracked database, by name, of any source (* for every database in the store)")]
    public string? Database { get; set; }

    /// <summary>The filter, narrowed to the scope <see cref="HindsightBackend.ScopeAsync"/> made of <see cref="Source"/> and
    /// <see cref="Database"/>; the library refuses what is not valid (JSON that is not an object, an unknown operation).</summary>
    public async Task<ChangeFilter> ToFilterAsync(HindsightBackend backend, CancellationToken ct)
    {
        var (source, database) = await backend.ScopeAsync(Source, Database, ct).ConfigureAwait(false);
        return ToFilter(source, database);
    }

    private ChangeFilter ToFilter(string? source, string? database) => new()
    {
        Tables = QueryInput.Tables(Table),
        PrimaryKey = Key,
        Operations = QueryInput.Operations(Operation),
        Since = IsoTime.Parse(Since, "since"),
        Until = IsoTime.Parse(Until, "until"),
        TransactionId = QueryInput.Long(Transaction, "transaction"),
        Context = Context,
        Before = Before,
        After = After,
        Source = source,
        Database = database,
    };
}
