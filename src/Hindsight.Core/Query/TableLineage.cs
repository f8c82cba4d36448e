using System.Globalization;
using System.Text;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// The names one table had (renamed, or moved to another schema), each with the stretch of the WAL in which the trail
/// stored its row changes under that name: how history and as-of find a renamed table's rows from before its rename,
/// and not those of another table that had the name before or after it.
/// </summary>
/// <param name="Source">The source the table is in.</param>
/// <param name="Names">Its names, oldest first, each until the schema change that gave it the next one.</param>
/// <param name="Since">Where the table was created, when the trail saw it created: row changes stored under its first
/// name before that are another table's (one dropped before it, or renamed away from the name).</param>
internal sealed record TableLineage(string Source, IReadOnlyList<TableLineage.Name> Names, (long CommitLsn, long Position)? Since)
{
    /// <summary>A name and where it stopped: row changes at (commit LSN, position) before <paramref name="Until"/>
    /// (the renaming schema change's) were stored under it. Null for the name it has now.</summary>
    internal sealed record Name(string Schema, string Table, (long CommitLsn, long Position)? Until);

    /// <summary>The condition, for a row of <c>hindsight.changes</c> (or of baselines, which have no position) aliased
    /// <paramref name="alias"/>, that it is this table's.</summary>
    public string Sql(ChangeSql.Parameters p, string alias, bool hasPosition)
    {
        var sb = new StringBuilder($"{alias}.source = {p.Add(Source, NpgsqlDbType.Text)} AND (");
        var from = Since;
        for (var i = 0; i < Names.Count; i++)
        {
            var n = Names[i];
            if (i > 0) sb.Append(" OR ");
            sb.Append(CultureInfo.InvariantCulture, $"({alias}.\"table\" = {p.Add(n.Table, NpgsqlDbType.Text)} AND {alias}.schema = {p.Add(n.Schema, NpgsqlDbType.Text)}");
            if (from is { } f) sb.Append(CultureInfo.InvariantCulture, $" AND {Place(alias, hasPosition)} >= {Bound(p, f, hasPosition)}");
            if (n.Until is { } u) sb.Append(CultureInfo.InvariantCulture, $" AND {Place(alias, hasPosition)} < {Bound(p, u, hasPosition)}");
            sb.Append(')');
            from = n.Until;
        }
        return sb.Append(')').ToString();
    }

    private static string Place(string alias, bool hasPosition) => hasPosition ? $"({alias}.commit_lsn, {alias}.position)" : $"{alias}.commit_lsn";

    private static string Bound(ChangeSql.Parameters p, (long CommitLsn, long Position) at, bool hasPosition) =>
        hasPosition
            ? $"({p.Add(at.CommitLsn, NpgsqlDbType.Bigint)}::bigint, {p.Add(at.Position, NpgsqlDbType.Bigint)}::bigint)"
            : p.Add(at.CommitLsn, NpgsqlDbType.Bigint);
}
