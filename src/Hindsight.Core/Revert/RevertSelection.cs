using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Revert;

/// <summary>
/// What to revert (docs/design.md, "Revert and rollback rules"): exactly one of one stored change, one source transaction (by xid or commit LSN), every
/// change matching a <see cref="ChangeFilter"/>, or chosen tables rolled to a moment (<see cref="RollbackTo"/>). Changes
/// are always taken from the source database being reverted.
/// </summary>
public sealed record RevertSelection
{
    /// <summary>One change, by its <see cref="Change.Id"/>.</summary>
    public long? ChangeId { get; init; }

    /// <summary>Every change of one source transaction (xid).</summary>
    public long? TransactionId { get; init; }

    /// <summary>Every change of the source transaction that committed at this LSN.</summary>
    public long? CommitLsn { get; init; }

    /// <summary>Every change matching this filter (e.g. a context containment, or a user between two times).</summary>
    public ChangeFilter? Filter { get; init; }

    /// <summary>
    /// Chosen tables rolled back (or forward) to a moment: not the inverse of changes, but each row made as it was then
    /// (see <see cref="RollbackTarget"/>).
    /// </summary>
    public RollbackTarget? RollbackTo { get; init; }

    /// <summary>Throws unless exactly one kind of selection is set.</summary>
    /// <exception cref="ArgumentException">None or more than one is set, or the filter selects everything.</exception>
    internal void Validate()
    {
        var set = (ChangeId is null ? 0 : 1) + (TransactionId is null ? 0 : 1) + (CommitLsn is null ? 0 : 1) + (Filter is null ? 0 : 1) +
                  (RollbackTo is null ? 0 : 1);
        if (set != 1)
            throw new ArgumentException("select exactly one of: a change id, a transaction, a commit LSN, a filter, or tables to roll to a moment", "selection");
        if (RollbackTo is { } r)
        {
            if (r.Tables.Count == 0) throw new ArgumentException("name at least one table to roll to a moment", "selection");
            if (r.Tables.Distinct().Count() != r.Tables.Count) throw new ArgumentException("a table is named twice", "selection");
        }
        // An empty filter would revert the whole trail: almost certainly a mistake, so it is refused.
        if (Filter is { } f && f.Tables.Count == 0 && f.PrimaryKey is null && f.Operations.Count == 0 && f.Since is null && f.Until is null &&
            f.TransactionId is null && f.Context is null or "{}" && f.Before is null or "{}" && f.After is null or "{}")
            throw new ArgumentException("the filter selects every change: give a context, table, time range or transaction", "selection");
    }

    /// <summary>
    /// What kind of selection this is, for a span's tag: the change id, the transaction or the commit LSN, but never a
    /// filter's values (contexts and images may hold what a trace backend should not).
    /// </summary>
    internal string Describe() =>
        ChangeId is { } id ? $"change {id}"
        : TransactionId is { } xid ? $"transaction {xid}"
        : CommitLsn is { } lsn ? $"commit {Postgres.PgNames.FormatLsn((ulong)lsn)}"
        : RollbackTo is { } r ? $"rollback of {r.Tables.Count} table(s)"
        : "filter";

    /// <summary>The selection as JSON, for the revert's own context (<c>{"hindsight":{"revertOf":…}}</c>).</summary>
    internal JsonObject ToJson()
    {
        var o = new JsonObject();
        if (ChangeId is { } id) o["change"] = id;
        if (TransactionId is { } xid) o["transaction"] = xid;
        if (CommitLsn is { } lsn) o["commitLsn"] = Postgres.PgNames.FormatLsn((ulong)lsn);
        if (RollbackTo is { } r)
        {
            o["rollbackTo"] = r.AtText;
            o["tables"] = new JsonArray(r.Tables.Select(t => (JsonNode)JsonValue.Create(t.ToString())).ToArray());
        }
        if (Filter is { } f)
        {
            var fo = new JsonObject();
            if (f.Tables.Count > 0) fo["tables"] = new JsonArray(f.Tables.Select(t => (JsonNode)JsonValue.Create(t.ToString())).ToArray());
            if (f.PrimaryKey is not null) fo["primaryKey"] = f.PrimaryKey;
            if (f.Operations.Count > 0) fo["operations"] = new JsonArray(f.Operations.Select(op => (JsonNode)JsonValue.Create(op.ToStored())).ToArray());
            if (f.Since is { } s) fo["since"] = s.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            if (f.Until is { } u) fo["until"] = u.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            if (f.TransactionId is { } fx) fo["transaction"] = fx;
            if (f.Context is not null) fo["context"] = JsonNode.Parse(f.Context);
            if (f.Before is not null) fo["before"] = JsonNode.Parse(f.Before);
            if (f.After is not null) fo["after"] = JsonNode.Parse(f.After);
            o["filter"] = fo;
        }
        return o;
    }
}
