namespace Hindsight.Retention;

/// <summary>How long a table's changes are kept before the worker prunes them (<see cref="Pruner.ApplyPoliciesAsync"/>).</summary>
/// <param name="Schema">The table's schema, or <c>*</c> with <see cref="Table"/> <c>*</c>: every table.</param>
/// <param name="Table">The table, or <c>*</c>.</param>
/// <param name="Keep">How long changes are kept.</param>
/// <param name="CreatedAt">When the policy was set.</param>
/// <param name="CreatedBy">The database role that set it.</param>
public sealed record RetentionPolicy(string Schema, string Table, TimeSpan Keep, DateTimeOffset CreatedAt, string CreatedBy);
