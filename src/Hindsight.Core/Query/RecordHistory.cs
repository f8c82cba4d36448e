using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>The versions of one row: all of them (<see cref="AuditTrail.HistoryAsync(TableName, string, bool, string?, string?, System.Threading.CancellationToken)"/>), or those at one end of its history (<see cref="AuditTrail.HistoryAsync(TableName, string, int, bool, string?, string?, System.Threading.CancellationToken)"/>).</summary>
/// <param name="Table">The table asked for.</param>
/// <param name="PrimaryKey">The key asked for.</param>
/// <param name="Versions">The versions, in the order asked for (by commit time, commit LSN and ordinal).</param>
public sealed record RecordHistory(TableName Table, string PrimaryKey, IReadOnlyList<RecordVersion> Versions)
{
    /// <summary>
    /// Whether the history goes on past <see cref="Versions"/>: older changes when read from the newest end with a
    /// limit, newer ones when read from the oldest end. Always false for a whole history.
    /// </summary>
    public bool HasMore { get; init; }

    /// <summary>
    /// When the table's changes were pruned (<c>hindsight prune</c>), the horizon: the row's history before it is gone,
    /// and its first version at the horizon (a SNAPSHOT) is the row as it was then. Null when nothing was pruned.
    /// </summary>
    public DateTimeOffset? PrunedUpTo { get; init; }
}
