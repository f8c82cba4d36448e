using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Query;

namespace Hindsight.Revert;

/// <summary>The inverse statement of one change: CREATE → DELETE, UPDATE → set the changed columns back, DELETE → INSERT.</summary>
internal static class RevertStatements
{
    public static RevertStatement? Inverse(Change c, RevertTable t, List<string> notes)
    {
        switch (c.Operation)
        {
            case Operation.Create:
                RequireKey(c, c.After, t, "after");
                return RevertStatement.Undo(c, "DELETE", $"DELETE FROM {t.Quoted} AS t USING {t.Image("$1")} AS a WHERE {t.KeyMatch("t", "a")}",
                    [TrailValue.Held(c.After).ToJsonString()]);
            case Operation.Delete:
            {
                RequireKey(c, c.Before, t, "before");
                // Only the values the trail holds: a digest or placeholder is never written, the column gets NULL or its default.
                UntrackedColumns.ForInsert(c.Before, t, $"cannot revert change {c.Id}", notes);
                var before = TrailValue.Held(c.Before);
                var columns = Usable(before, t, notes);
                var list = string.Join(", ", columns.Select(PgNames.Quote));
                // Identity ALWAYS columns refuse explicit values unless told: the row must come back with its own id.
                var overriding = columns.Any(t.IdentityAlways.Contains) ? " OVERRIDING SYSTEM VALUE" : "";
                return RevertStatement.Undo(c, "INSERT", $"INSERT INTO {t.Quoted} ({list}){overriding} SELECT {list} FROM {t.Image("$1")} AS b", [before.ToJsonString()]);
            }
            case Operation.Update:
            {
                RequireKey(c, c.After, t, "after");
                if (c.Before.Count == 0)
                    throw new AuditQueryException(
                        $"cannot revert change {c.Id}: the UPDATE has no before image (the table's replica identity was not FULL when it was captured)");
                // Only the columns this change changed, and only to values the trail holds: the rest of the row is left as it is.
                UntrackedColumns.ForUpdate(c, t, notes);
                var before = TrailValue.Held(c.Before);
                var changed = Usable(before, t, notes)
                    .Where(col => !c.After.TryGetPropertyValue(col, out var after) || !JsonEquality.JsonbEquals(before[col], after))
                    .ToList();
                foreach (var col in changed.Where(t.IdentityAlways.Contains))
                    notes.Add($"{t.Name}: identity ALWAYS column {col} cannot be set back by an UPDATE; left as it is");
                changed.RemoveAll(t.IdentityAlways.Contains);
                if (changed.Count == 0) { notes.Add($"change {c.Id} changed no column that can be set back: nothing to undo"); return null; }
                var set = string.Join(", ", changed.Select(col => $"{PgNames.Quote(col)} = b.{PgNames.Quote(col)}"));
                return RevertStatement.Undo(c, "UPDATE", $"UPDATE {t.Quoted} AS t SET {set} FROM {t.Image("$1")} AS b, {t.Image("$2")} AS a WHERE {t.KeyMatch("t", "a")}",
                    [before.ToJsonString(), TrailValue.Held(c.After).ToJsonString()]);
            }
            default:
                return null;
        }
    }

    /// <summary>The image's columns that can be written today; notes the ones that no longer exist.</summary>
    public static List<string> Usable(JsonObject image, RevertTable t, List<string> notes)
    {
        var columns = new List<string>();
        foreach (var (col, _) in image)
        {
            if (t.Writable.Contains(col)) columns.Add(col);
            else if (!t.Generated.Contains(col)) notes.Add($"{t.Name}: column {col} no longer exists; ignored");
        }
        return columns;
    }

    private static void RequireKey(Change c, JsonObject image, RevertTable t, string which)
    {
        if (t.Key.Any(k => !image.ContainsKey(k)))
            throw new AuditQueryException(
                $"cannot revert change {c.Id}: its {which} image lacks the primary key columns of {t.Name} today ({string.Join(", ", t.Key)})");
        UntrackedColumns.RequireHeldKey(image, t, $"cannot revert change {c.Id}");
    }
}
