using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Revert;

namespace Hindsight.Server.Contracts;

/// <summary>
/// What to revert (<c>POST /api/revert/plan</c>, <c>POST /api/revert</c>): exactly one of <see cref="Change"/>,
/// <see cref="Transaction"/>, <see cref="CommitLsn"/>, <see cref="Filter"/> or <see cref="Rollback"/>.
/// </summary>
internal sealed record RevertRequest
{
    /// <summary>Revert this one change (its id).</summary>
    [JsonPropertyName("change")] public long? Change { get; init; }
    /// <summary>Revert every change of this source transaction (xid).</summary>
    [JsonPropertyName("transaction")] public long? Transaction { get; init; }
    /// <summary>Revert every change of the transaction that committed at this LSN (e.g. <c>0/16B3748</c>).</summary>
    [JsonPropertyName("commit_lsn")] public string? CommitLsn { get; init; }
    /// <summary>Revert every change matching this filter.</summary>
    [JsonPropertyName("filter")] public RevertFilterRequest? Filter { get; init; }
    /// <summary>Roll tables back (or forward) to a moment instead.</summary>
    [JsonPropertyName("rollback")] public RollbackRequest? Rollback { get; init; }
    /// <summary>Context of the revert itself (e.g. why), a JSON object; <c>hindsight.revertOf</c> and <c>apiKey</c> are set by the server.</summary>
    [JsonPropertyName("context")] public JsonNode? Context { get; init; }
    /// <summary>Apply even when rows conflict (overwrites them). Ignored by the plan.</summary>
    [JsonPropertyName("force")] public bool Force { get; init; }
}

/// <summary>The changes to revert, as <c>GET /api/changes</c> filters them (at least one criterion).</summary>
internal sealed record RevertFilterRequest
{
    /// <summary>Tables (table, schema.table, "Quoted Name").</summary>
    [JsonPropertyName("tables")] public IReadOnlyList<string>? Tables { get; init; }
    /// <summary>One row's primary key as stored.</summary>
    [JsonPropertyName("key")] public string? Key { get; init; }
    /// <summary>Operations: CREATE, UPDATE, DELETE.</summary>
    [JsonPropertyName("operations")] public IReadOnlyList<string>? Operations { get; init; }
    /// <summary>Committed at or after (ISO 8601).</summary>
    [JsonPropertyName("since")] public string? Since { get; init; }
    /// <summary>Committed before (ISO 8601).</summary>
    [JsonPropertyName("until")] public string? Until { get; init; }
    /// <summary>Source transaction (xid).</summary>
    [JsonPropertyName("transaction")] public long? Transaction { get; init; }
    /// <summary>JSON object the context must contain.</summary>
    [JsonPropertyName("context")] public JsonNode? Context { get; init; }
    /// <summary>JSON object the row before must contain.</summary>
    [JsonPropertyName("before")] public JsonNode? Before { get; init; }
    /// <summary>JSON object the row after must contain.</summary>
    [JsonPropertyName("after")] public JsonNode? After { get; init; }
}

/// <summary>Tables to roll to a moment: every row the trail knows made as it was then.</summary>
internal sealed record RollbackRequest
{
    /// <summary>The tables.</summary>
    [JsonPropertyName("tables")] public IReadOnlyList<string>? Tables { get; init; }
    /// <summary>The moment (ISO 8601).</summary>
    [JsonPropertyName("to")] public string? To { get; init; }
}

/// <summary>One statement of a plan.</summary>
/// <param name="Change">The change it undoes; null for a rollback.</param>
/// <param name="Operation">That change's operation.</param>
/// <param name="Action">DELETE, INSERT or UPDATE.</param>
/// <param name="Table">The table it writes.</param>
/// <param name="PrimaryKey">The row's key.</param>
/// <param name="Sql">The statement; values only as parameters.</param>
/// <param name="Parameters">Its parameters (row images).</param>
internal sealed record RevertStatementDto(
    [property: JsonPropertyName("change")] long? Change,
    [property: JsonPropertyName("operation")] string? Operation,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("primary_key")] string PrimaryKey,
    [property: JsonPropertyName("sql")] string Sql,
    [property: JsonPropertyName("parameters")] IReadOnlyList<JsonNode?> Parameters);

/// <summary>A row changed later by something outside the selection.</summary>
/// <param name="Table">The table.</param>
/// <param name="PrimaryKey">The row's key.</param>
/// <param name="Reason">What changed it.</param>
/// <param name="LaterChange">The later stored change, when the store holds it.</param>
internal sealed record RevertConflictDto(
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("primary_key")] string PrimaryKey,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("later_change")] long? LaterChange)
{
    /// <summary>The wire form of a conflict.</summary>
    public static RevertConflictDto From(RevertConflict c) => new(c.Table.ToString(), c.PrimaryKey, c.Reason, c.LaterChangeId);
}

/// <summary>A revert plan, and what applying it did.</summary>
/// <param name="Statements">The statements in the order they run.</param>
/// <param name="Conflicts">Rows changed later outside the selection; apply refuses them unless forced.</param>
/// <param name="Notes">What the plan leaves out and why.</param>
/// <param name="Sql">The whole plan as SQL, with its parameters and the revert's context message shown.</param>
/// <param name="Applied">Whether it was committed (false for a plan).</param>
/// <param name="RowsAffected">Rows changed per statement (empty for a plan).</param>
internal sealed record RevertResponse(
    [property: JsonPropertyName("statements")] IReadOnlyList<RevertStatementDto> Statements,
    [property: JsonPropertyName("conflicts")] IReadOnlyList<RevertConflictDto> Conflicts,
    [property: JsonPropertyName("notes")] IReadOnlyList<string> Notes,
    [property: JsonPropertyName("sql")] string Sql,
    [property: JsonPropertyName("applied")] bool Applied,
    [property: JsonPropertyName("rows_affected")] IReadOnlyList<int> RowsAffected)
{
    /// <summary>The wire form of a plan and its dry run or application.</summary>
    public static RevertResponse From(RevertResult result) => new(
        result.Plan.Statements.Select(s => new RevertStatementDto(
            s.Change?.Id, s.Change is { } c ? Model.OperationNames.ToStored(c.Operation) : null, s.Action, s.Table.ToString(), s.PrimaryKey, s.Sql,
            s.Parameters.Select(p => JsonNode.Parse(p)).ToList())).ToList(),
        result.Plan.Conflicts.Select(RevertConflictDto.From).ToList(),
        result.Plan.Notes,
        result.Sql,
        result.Applied,
        result.RowsAffected);
}
