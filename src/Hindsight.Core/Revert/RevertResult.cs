namespace Hindsight.Revert;

/// <summary>The outcome of applying (or dry-running) a revert.</summary>
/// <param name="Plan">The plan.</param>
/// <param name="Applied">Whether the statements were committed (false for a dry run).</param>
/// <param name="Sql">The SQL text with parameters shown.</param>
/// <param name="RowsAffected">Rows changed per statement, in plan order (empty for a dry run).</param>
public sealed record RevertResult(RevertPlan Plan, bool Applied, string Sql, IReadOnlyList<int> RowsAffected);
