using Hindsight.Postgres;

namespace Hindsight.Model;

/// <summary>A column of a tracked table whose values the stored images do not hold (see <see cref="UntrackedReason"/>).</summary>
/// <param name="Schema">Schema of the table.</param>
/// <param name="Table">The table (for partitioned tables: the root).</param>
/// <param name="Column">The column.</param>
/// <param name="Reason">Why its values are not stored.</param>
public sealed record UntrackedColumn(string Schema, string Table, string Column, UntrackedReason Reason)
{
    /// <summary><c>schema.table.column</c>, quoted where PostgreSQL needs it.</summary>
    public string QualifiedName => PgNames.Display(Schema, Table) + "." + PgNames.DisplayPart(Column);

    /// <summary>"public.g: b, c (generated)" lines: one per table and reason.</summary>
    internal static IEnumerable<string> Describe(IEnumerable<UntrackedColumn> columns) =>
        columns.GroupBy(c => (c.Schema, c.Table, c.Reason))
            .Select(g => $"{PgNames.Display(g.Key.Schema, g.Key.Table)}: {string.Join(", ", g.Select(c => PgNames.DisplayPart(c.Column)))} ({UntrackedReasons.Name(g.Key.Reason)})");
}
