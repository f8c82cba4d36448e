using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Postgres;

namespace Hindsight.Query;

/// <summary>
/// Says what a schema change did, by comparing the table's columns (by number, which renames keep) and name with the
/// state recorded before it: one line per effect, in words a support engineer reads without knowing SQL.
/// </summary>
internal static class SchemaEffects
{
    /// <summary>The lines for a change that left <paramref name="after"/> (null: the table was dropped), given the state
    /// before it (null: none recorded).</summary>
    public static IReadOnlyList<string> Describe(string tag, TableName table, IReadOnlyList<SchemaColumn>? after, TableName? tableBefore,
        IReadOnlyList<SchemaColumn>? before, JsonObject detail, JsonObject? detailBefore)
    {
        if (after is null) return ["table dropped"];
        if (tag == "SNAPSHOT") return [$"columns recorded when tracking began: {List(after)}"];
        if (before is null)
            return tag.StartsWith("CREATE", StringComparison.Ordinal) || tag == "SELECT INTO"
                ? [$"table created with columns {List(after)}"]
                : [$"columns now: {List(after)} (no earlier state recorded)"];

        var lines = new List<string>();
        if (tableBefore is { } old && old != table)
            lines.Add(old.Schema != table.Schema && old.Name == table.Name
                ? $"table moved from schema {PgNames.DisplayPart(old.Schema!)} to {PgNames.DisplayPart(table.Schema!)}"
                : $"table renamed from {old} to {table}");
        var then = before.ToDictionary(c => c.Attnum);
        var now = after.ToDictionary(c => c.Attnum);
        foreach (var c in before.Where(c => !now.ContainsKey(c.Attnum)))
            lines.Add($"column {Name(c.Name)} dropped");
        foreach (var c in after)
        {
            if (!then.TryGetValue(c.Attnum, out var was))
            {
                lines.Add($"column {Name(c.Name)} added ({Describe(c)})");
                continue;
            }
            if (was.Name != c.Name) lines.Add($"column {Name(was.Name)} renamed to {Name(c.Name)}");
            if (was.Type != c.Type) lines.Add($"column {Name(c.Name)} type changed from {was.Type} to {c.Type}");
            if (was.NotNull != c.NotNull) lines.Add($"column {Name(c.Name)} {(c.NotNull ? "set NOT NULL" : "no longer NOT NULL")}");
            if (was.Default != c.Default)
                lines.Add(c.Default is null ? $"column {Name(c.Name)} default dropped" : $"column {Name(c.Name)} default set to {c.Default}");
        }
        var partitions = Partitions(detail);
        var partitionsBefore = detailBefore is null ? [] : Partitions(detailBefore);
        foreach (var p in partitions.Except(partitionsBefore, StringComparer.Ordinal)) lines.Add($"partition {p} attached");
        foreach (var p in partitionsBefore.Except(partitions, StringComparer.Ordinal)) lines.Add($"partition {p} detached");
        if (lines.Count == 0) lines.Add("no change to the table's name or columns");
        return lines;
    }

    /// <summary>
    /// Whether an effect line says the table's rows can no longer hold what they held before it: the table renamed,
    /// moved or dropped, a column renamed or dropped, or a column's type changed.
    /// </summary>
    public static bool BreaksOldValues(string effect) =>
        effect.StartsWith("table ", StringComparison.Ordinal) && !effect.StartsWith("table created", StringComparison.Ordinal)
        || effect.StartsWith("column ", StringComparison.Ordinal)
           && (effect.Contains(" renamed to ", StringComparison.Ordinal) || effect.EndsWith(" dropped", StringComparison.Ordinal)
               || effect.Contains(" type changed from ", StringComparison.Ordinal));

    private static string Name(string column) => PgNames.DisplayPart(column);

    private static string Describe(SchemaColumn c) =>
        c.Type + (c.NotNull ? " NOT NULL" : "") + (c.Generated ? $", generated as {c.Default}" : c.Default is null ? "" : $", default {c.Default}");

    private static string List(IReadOnlyList<SchemaColumn> columns) => string.Join(", ", columns.Select(c => $"{Name(c.Name)} {c.Type}"));

    private static List<string> Partitions(JsonObject detail) =>
        detail["partitions"] is JsonArray a ? a.Select(p => p?.GetValue<string>() ?? "").ToList() : [];
}
