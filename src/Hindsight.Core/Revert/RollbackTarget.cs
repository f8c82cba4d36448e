using Hindsight.Model;

namespace Hindsight.Revert;

/// <summary>
/// Roll chosen tables back (or forward) to a moment (docs/design.md, "Revert and rollback rules"): each table's rows made equal to
/// <see cref="Query.AuditTrail.AsOfAsync(TableName, DateTimeOffset, string?, string?, string?, CancellationToken)"/> of it at <see cref="At"/>, as far as the trail knows its rows.
/// </summary>
/// <param name="Tables">The tables (a bare name must be unambiguous); rolled together, in one transaction.</param>
/// <param name="At">The moment: the tables are made as they were after every change committed at or before it.</param>
public sealed record RollbackTarget(IReadOnlyList<TableName> Tables, DateTimeOffset At)
{
    /// <summary>The moment as written into the revert's context (ISO 8601, UTC).</summary>
    public string AtText => At.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
}
