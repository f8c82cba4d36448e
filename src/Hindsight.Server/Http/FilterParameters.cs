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

    [FromQuery(Name = "database"), Description("The tracked database (default: the server's source database; * for every database in the store)")]
    public string? Database { get; set; }

    /// <summary>The filter; the library refuses what is not valid (JSON that is not an object, an unknown operation).</summary>
    public ChangeFilter ToFilter(string? defaultDatabase) => new()
    {
        Tables = QueryInput.Tables(Table),
        PrimaryKey = Key,
        Operations = QueryInput.Operations(Operation),
        Since = QueryInput.Time(Since, "since"),
        Until = QueryInput.Time(Until, "until"),
        TransactionId = QueryInput.Long(Transaction, "transaction"),
        Context = Context,
        Before = Before,
        After = After,
        Database = ResolveDatabase(Database, defaultDatabase),
    };

    /// <summary>The database to narrow to: the given one, the default, or null (every database) for <c>*</c>.</summary>
    internal static string? ResolveDatabase(string? given, string? defaultDatabase) =>
        string.IsNullOrEmpty(given) ? defaultDatabase : given == "*" ? null : given;
}
