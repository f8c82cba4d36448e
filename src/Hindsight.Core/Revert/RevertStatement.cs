using System.Globalization;
using System.Text;
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
