using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Query;

namespace Hindsight.Server.Contracts;

/// <summary>How one column differs between two row images.</summary>
/// <param name="Column">The column.</param>
/// <param name="Kind">added, removed or changed.</param>
/// <param name="OldValue">The value before (null when added, or SQL NULL).</param>
/// <param name="NewValue">The value after (null when removed, or SQL NULL).</param>
internal sealed record ColumnChangeDto(
    [property: JsonPropertyName("column")] string Column,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("old_value")] JsonNode? OldValue,
    [property: JsonPropertyName("new_value")] JsonNode? NewValue)
{
    /// <summary>The wire form of a column change.</summary>
    public static ColumnChangeDto From(ColumnChange c) => new(c.Column, c.Kind.ToString().ToLowerInvariant(), c.OldValue, c.NewValue);
}
