using System.Text.Json.Nodes;

namespace Hindsight.Retention;

/// <summary>
/// A legal hold: changes it matches are never pruned. Every part that is given must match; context matches by
/// containment (the change's context holds every key and value of <see cref="Context"/>).
/// </summary>
/// <param name="Id">The hold's number (what <c>hold remove</c> takes).</param>
/// <param name="Source">Only this source's changes, or any.</param>
/// <param name="Schema">Only this schema's tables, or any.</param>
/// <param name="Table">Only this table's changes, or any (then <see cref="Context"/> is given).</param>
/// <param name="PrimaryKey">Only this row's changes (as <c>primary_key</c> holds it), or any row.</param>
/// <param name="Context">Only changes whose context contains this, or any.</param>
/// <param name="Reason">Why it is held (a case, a ticket).</param>
/// <param name="CreatedAt">When it was placed.</param>
/// <param name="CreatedBy">The database role that placed it.</param>
public sealed record LegalHold(long Id, string? Source, string? Schema, string? Table, string? PrimaryKey, JsonObject? Context,
    string Reason, DateTimeOffset CreatedAt, string CreatedBy)
{
    /// <summary>What the hold matches, in words: <c>table public.orders, key 42, context {"userId":"alice"}</c>.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Table is not null) parts.Add("table " + new Model.TableName(Schema, Table));
        if (PrimaryKey is not null) parts.Add("key " + PrimaryKey);
        if (Context is not null) parts.Add("context " + Context.ToJsonString());
        if (Source is not null) parts.Add("source " + Source);
        return string.Join(", ", parts);
    }
}
