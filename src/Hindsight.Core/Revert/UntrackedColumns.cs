using System.Text.Json.Nodes;
using Hindsight.Query;

namespace Hindsight.Revert;

/// <summary>
/// The columns a revert or rollback cannot write because the trail does not hold their values (<see cref="TrailValue"/>:
/// a redacted digest, a TOAST placeholder; or a column missing from the image, e.g. ignored by the column rules). They are
/// left as they are and the plan notes it; a re-inserted row gets NULL or the default there, and where the column
/// cannot be left out (<see cref="RevertTable.Required"/>) the row cannot come back and the plan is refused.
/// </summary>
internal static class UntrackedColumns
{
    private const string Missing = "missing from the trail's images (an ignored column, or one added since)";

    /// <summary>
    /// For a row inserted whole from <paramref name="image"/>: notes each writable column whose value the image does not
    /// hold; refuses (naming the column) when one of them cannot be left out.
    /// </summary>
    /// <param name="image">The image as stored.</param>
    /// <param name="t">The table today.</param>
    /// <param name="refusal">What cannot be done, starting the refusal (e.g. <c>cannot revert change 12</c>).</param>
    /// <param name="notes">The plan's notes.</param>
    /// <exception cref="AuditQueryException">A NOT NULL column without a default would be left out.</exception>
    public static void ForInsert(JsonObject image, RevertTable t, string refusal, List<string> notes)
    {
        foreach (var col in t.Writable)
        {
            var why = image.TryGetPropertyValue(col, out var value) ? TrailValue.NotHeld(value) : Missing;
            if (why is null) continue;
            if (t.Required.Contains(col))
                throw new AuditQueryException(
                    $"{refusal}: the row must be inserted again, but its column {col} of {t.Name} is {why}, and the column is NOT NULL " +
                    "without a default; the trail cannot restore the row (force does not change this: put it back by hand)");
            notes.Add($"{t.Name}: column {col} is {why}: a re-inserted row gets NULL (or the column's default) there");
        }
    }

    /// <summary>For an UPDATE set back from <c>before</c>: notes each column whose earlier value the trail does not hold.</summary>
    public static void ForUpdate(Change c, RevertTable t, List<string> notes)
    {
        foreach (var col in t.Writable)
        {
            string? why;
            if (c.Before.TryGetPropertyValue(col, out var before))
            {
                why = TrailValue.NotHeld(before);
                // The same digest (or placeholder) before and after: the change did not touch it.
                if (why is null || c.After.TryGetPropertyValue(col, out var after) && JsonEquality.JsonbEquals(before, after)) continue;
            }
            else why = c.After.ContainsKey(col) ? null : Missing;
            if (why is not null) notes.Add(LeftAsItIs(t, col, why));
        }
    }

    /// <summary>For a row set to <paramref name="image"/> by an UPDATE: notes each column whose value the image does not hold.</summary>
    public static void ForRowUpdate(JsonObject image, RevertTable t, List<string> notes)
    {
        foreach (var col in t.Writable)
        {
            var why = image.TryGetPropertyValue(col, out var value) ? TrailValue.NotHeld(value) : Missing;
            if (why is not null) notes.Add(LeftAsItIs(t, col, why));
        }
    }

    /// <summary>Refuses an image whose key columns the trail does not hold (the row could not be found by them).</summary>
    public static void RequireHeldKey(JsonObject image, RevertTable t, string refusal)
    {
        foreach (var k in t.Key)
            if (image.TryGetPropertyValue(k, out var value) && TrailValue.NotHeld(value) is { } why)
                throw new AuditQueryException($"{refusal}: its primary key column {k} of {t.Name} is {why}, so the row cannot be found by it");
    }

    private static string LeftAsItIs(RevertTable t, string col, string why) =>
        $"{t.Name}: column {col} is {why}: its earlier value cannot be written back, so it is left as it is";
}
