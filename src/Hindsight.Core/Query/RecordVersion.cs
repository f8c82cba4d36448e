using System.Text.Json.Nodes;

namespace Hindsight.Query;

/// <summary>One step in the history of a row: the change, the row it left behind, and what it changed.</summary>
/// <param name="Change">The stored change (for a TRUNCATE, the table's TRUNCATE change, whose key is null).</param>
/// <param name="Row">The row after this change; null when the change removed it (DELETE, TRUNCATE).</param>
/// <param name="Diff">
/// Columns added, removed or changed by this step, compared with the row as it was just before (a TRUNCATE lists every
/// column of the row it removed as removed).
/// </param>
public sealed record RecordVersion(Change Change, JsonObject? Row, IReadOnlyList<ColumnChange> Diff);
