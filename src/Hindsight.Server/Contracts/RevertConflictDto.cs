using System.Text.Json.Serialization;
using Hindsight.Revert;

namespace Hindsight.Server.Contracts;

/// <summary>A row changed later by something outside the selection.</summary>
/// <param name="Table">The table.</param>
/// <param name="PrimaryKey">The row's key.</param>
/// <param name="Reason">What changed it.</param>
/// <param name="LaterChange">The later stored change, when the store holds it.</param>
/// <param name="AlreadyReverted">The later change is a revert of the selected one: nothing to undo, and not forceable.</param>
internal sealed record RevertConflictDto(
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("primary_key")] string PrimaryKey,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("later_change")] long? LaterChange,
    [property: JsonPropertyName("already_reverted")] bool AlreadyReverted)
{
    /// <summary>The wire form of a conflict.</summary>
    public static RevertConflictDto From(RevertConflict c) => new(c.Table.ToString(), c.PrimaryKey, c.Reason, c.LaterChangeId, c.AlreadyReverted);
}
