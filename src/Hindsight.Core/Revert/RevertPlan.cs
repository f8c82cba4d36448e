using System.Text;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Revert;

/// <summary>
/// The inverse of a selection, newest change first (or, for a rollback, each row set to its state at the moment), reordered
/// row by row where the foreign keys among its tables need it (<see cref="RevertOrder"/>), with its conflicts and notes.
/// </summary>
/// <param name="Selection">What was selected.</param>
/// <param name="Statements">The statements in the order they run.</param>
/// <param name="Conflicts">Rows changed later outside the selection; apply refuses unless forced.</param>
/// <param name="Notes">What the plan leaves out and why (e.g. columns that no longer exist).</param>
public sealed record RevertPlan(RevertSelection Selection, IReadOnlyList<RevertStatement> Statements, IReadOnlyList<RevertConflict> Conflicts,
    IReadOnlyList<string> Notes)
{
    /// <summary>The tables' shapes the statements were built for (to re-check the rows when applying).</summary>
    internal IReadOnlyDictionary<(string, string), RevertTable> Tables { get; init; } = new Dictionary<(string, string), RevertTable>();

    /// <summary>The selection's newest change of each row it touched (what each row must still be when applying).</summary>
    internal IReadOnlyList<Change> NewestPerRow { get; init; } = [];

    /// <summary>A rollback's tables, each with its schema, in the order given.</summary>
    internal IReadOnlyList<TableName> RollbackTables { get; init; } = [];

    /// <summary>Whether this is a rollback to a moment (<see cref="RevertSelection.RollbackTo"/>) rather than undoing changes.</summary>
    public bool IsRollback => Selection.RollbackTo is not null;

    /// <summary>What the conflicts mean, in a few words, for a refusal.</summary>
    public string ConflictSummary => IsRollback
        ? $"{Conflicts.Count} row(s) of the source are not as the trail says (the store is behind, or a key changed)"
        : $"{Conflicts.Count} row(s) were changed after the selected changes";

    /// <summary>The whole plan as SQL text with its parameters shown (what a dry run prints).</summary>
    internal string Sql(JsonObject context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var sb = new StringBuilder("BEGIN;\n");
        sb.Append("SELECT pg_logical_emit_message(true, 'hindsight', $1::text);\n  -- $1 = ").Append(context.ToJsonString()).Append('\n');
        sb.Append(Reverter.DeferConstraints).Append(";\n");
        foreach (var s in Statements) sb.Append(s.Display()).Append('\n');
        return sb.Append("COMMIT;\n").ToString();
    }
}
