using System.Text.Json.Nodes;

namespace Hindsight.Query;

/// <summary>
/// Column-level differences between two row images. Values are compared as PostgreSQL's jsonb compares them
/// (<see cref="JsonEquality"/>): <c>1.0</c> and <c>1</c> are the same number, key order inside a json column
/// does not matter. Columns come in the order of the new image, then the columns only the old image has.
/// </summary>
internal static class RowDiff
{
    /// <summary>The columns that differ between <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static IReadOnlyList<ColumnChange> Compute(JsonObject before, JsonObject after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changes = new List<ColumnChange>();
        foreach (var (column, value) in after)
        {
            if (!before.TryGetPropertyValue(column, out var old))
                changes.Add(new ColumnChange(column, ColumnChangeKind.Added, null, value?.DeepClone()));
            else if (!JsonEquality.JsonbEquals(old, value))
                changes.Add(new ColumnChange(column, ColumnChangeKind.Changed, old?.DeepClone(), value?.DeepClone()));
        }
        foreach (var (column, old) in before)
            if (!after.ContainsKey(column))
                changes.Add(new ColumnChange(column, ColumnChangeKind.Removed, old?.DeepClone(), null));
        return changes;
    }
}
