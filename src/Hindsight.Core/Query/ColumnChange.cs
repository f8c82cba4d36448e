using System.Text.Json.Nodes;

namespace Hindsight.Query;

/// <summary>One column of a <see cref="RowDiff"/>.</summary>
/// <param name="Column">The column's name.</param>
/// <param name="Kind">Added, removed or changed.</param>
/// <param name="OldValue">The value before (null for <see cref="ColumnChangeKind.Added"/>, and for SQL NULL, which is JSON null).</param>
/// <param name="NewValue">The value after (null for <see cref="ColumnChangeKind.Removed"/>, and for SQL NULL).</param>
public sealed record ColumnChange(string Column, ColumnChangeKind Kind, JsonNode? OldValue, JsonNode? NewValue);
