using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Revert;

/// <summary>One statement of a revert plan: the inverse of one stored change, or one row of a rollback set to its state then.</summary>
/// <param name="Table">The table the statement writes.</param>
/// <param name="PrimaryKey">The row's key as stored (a composite key as a JSON array).</param>
/// <param name="Action">What the statement does to the row: <c>DELETE</c>, <c>INSERT</c> or <c>UPDATE</c>.</param>
/// <param name="Sql">The statement; values are only ever its parameters <c>$1</c>, <c>$2</c>.</param>
/// <param name="Parameters">The JSON row images passed as <c>$1</c>, <c>$2</c>, … (cast to jsonb by the statement).</param>
public sealed record RevertStatement(TableName Table, string PrimaryKey, string Action, string Sql, IReadOnlyList<string> Parameters)
{
    /// <summary>The stored change this statement undoes; null for a rollback (it sets a row to its state at a moment instead).</summary>
    public Change? Change { get; init; }

    /// <summary>A rollback's expectation of the row when applying (what the plan saw), re-checked under lock.</summary>
    internal RowExpectation? Expected { get; init; }

    /// <summary>The statement that undoes <paramref name="change"/>.</summary>
    internal static RevertStatement Undo(Change change, string action, string sql, IReadOnlyList<string> parameters) =>
        new(new TableName(change.Schema, change.Table), change.PrimaryKey ?? "", action, sql, parameters) { Change = change };

    /// <summary>What the statement does, in a few words, for messages.</summary>
    internal string Describe() => Change is { } c
        ? $"undoing change {c.Id} ({Model.OperationNames.ToStored(c.Operation)} of {Table} key {PrimaryKey})"
        : $"{Action} of {Table} key {PrimaryKey}";

    /// <summary>The statement followed by its parameters as comments, for a dry run.</summary>
    internal string Display()
    {
        var sb = new StringBuilder(Sql).Append(';');
        for (var i = 0; i < Parameters.Count; i++)
            sb.Append(CultureInfo.InvariantCulture, $"\n  -- ${i + 1} = {Parameters[i]}");
        return sb.ToString();
    }
}

/// <summary>What a rollback statement's row must still be when applying.</summary>
/// <param name="KeyImage">A JSON image holding the row's key columns (to find it).</param>
/// <param name="Row">The row as the plan saw it (<c>to_jsonb</c>), or null when it did not exist.</param>
internal sealed record RowExpectation(string KeyImage, string? Row);

/// <summary>
/// A row the selection touched that was changed afterwards by something outside the selection: reverting would overwrite
/// that later work, so apply refuses unless forced.
/// </summary>
/// <param name="Table">The row's table.</param>
/// <param name="PrimaryKey">The row's key as stored.</param>
/// <param name="Reason">What changed it later (a stored change, or the source row differing from the trail).</param>
/// <param name="LaterChangeId">The later stored change, when the store holds it.</param>
public sealed record RevertConflict(TableName Table, string PrimaryKey, string Reason, long? LaterChangeId);

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

/// <summary>The outcome of applying (or dry-running) a revert.</summary>
/// <param name="Plan">The plan.</param>
/// <param name="Applied">Whether the statements were committed (false for a dry run).</param>
/// <param name="Sql">The SQL text with parameters shown.</param>
/// <param name="RowsAffected">Rows changed per statement, in plan order (empty for a dry run).</param>
public sealed record RevertResult(RevertPlan Plan, bool Applied, string Sql, IReadOnlyList<int> RowsAffected);
