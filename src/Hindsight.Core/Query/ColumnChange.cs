using System.Text.Json.Nodes;

namespace Hindsight.Query;

/// <summary>One column of a <see cref="RowDiff"/>.</summary>
/// <param name="Column">The column's name.</param>
/// <param name="Kind">Added, removed or changed.</param>
/// <param name="OldValue">The value before (null for <see cref="ColumnChangeKind.Added"/>, and for SQL NULL, which is JSON null).</param>
/// <param name="NewValue">The value after (null for <see cref="ColumnChangeKind.Removed"/>, and for SQL NULL).</param>
public sealed record ColumnChange(string Column, ColumnChangeKind Kind, JsonNode? OldValue, JsonNode? NewValue)
{
    /// <summary>How deep <see cref="Leaves"/> follows nested objects before it shows a value whole.</summary>
    public const int MaxLeafDepth = 8;

    /// <summary>
    /// The change path by path when both values are JSON objects (a json or jsonb column): one entry per key that was
    /// added, removed or changed, nested keys joined with dots (<c>details.invoice</c>), compared as jsonb compares them.
    /// Arrays and scalars are not split. Any other change is returned as itself.
    /// </summary>
    public IReadOnlyList<ColumnChange> Leaves()
    {
        if (Kind != ColumnChangeKind.Changed || OldValue is not JsonObject || NewValue is not JsonObject) return [this];
        var leaves = new List<ColumnChange>();
        Walk(Column, OldValue, NewValue, 0, leaves);
        return leaves;
    }

    private static void Walk(string path, JsonNode? before, JsonNode? after, int depth, List<ColumnChange> leaves)
    {
        if (before is JsonObject b && after is JsonObject a && depth < MaxLeafDepth)
        {
            foreach (var (key, value) in a)
            {
                if (!b.TryGetPropertyValue(key, out var old)) leaves.Add(new ColumnChange($"{path}.{key}", ColumnChangeKind.Added, null, value?.DeepClone()));
                else if (!JsonEquality.JsonbEquals(old, value)) Walk($"{path}.{key}", old, value, depth + 1, leaves);
            }
            foreach (var (key, old) in b)
                if (!a.ContainsKey(key)) leaves.Add(new ColumnChange($"{path}.{key}", ColumnChangeKind.Removed, old?.DeepClone(), null));
            return;
        }
        leaves.Add(new ColumnChange(path, ColumnChangeKind.Changed, before?.DeepClone(), after?.DeepClone()));
    }
}
