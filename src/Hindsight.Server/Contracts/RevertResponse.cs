using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Revert;

namespace Hindsight.Server.Contracts;

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
