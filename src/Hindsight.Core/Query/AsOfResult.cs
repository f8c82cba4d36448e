using System.Text.Json.Nodes;

namespace Hindsight.Query;

/// <summary>One row as it was at the time asked for.</summary>
/// <param name="Database">The tracked database.</param>
/// <param name="Schema">The table's schema.</param>
/// <param name="Table">The table.</param>
/// <param name="PrimaryKey">The row's key as stored.</param>
/// <param name="Row">The row image, as <c>to_jsonb()</c> of the row would have given it at that time.</param>
/// <param name="ChangeId">The change that left the row in this state.</param>
/// <param name="ChangedAt">When that change was committed.</param>
public sealed record AsOfRow(string Database, string Schema, string Table, string PrimaryKey, JsonObject Row, long ChangeId, DateTimeOffset ChangedAt);

/// <summary>A table (or one row of it) as it was at a moment (<see cref="AuditTrail.AsOfAsync"/>).</summary>
/// <param name="Table">The table asked for.</param>
/// <param name="At">The moment: every change committed at or before it counts.</param>
/// <param name="Rows">The rows that existed then, as far as the store knows, ordered by key.</param>
/// <param name="Complete">
/// Whether <see cref="Rows"/> is every row the table had. False unless a baseline of the rows that existed before
/// tracking began is stored (<c>setup --snapshot</c>): without one, a row that was never changed since tracking began
/// is unknown, so only rows changed since then (<see cref="TrackingSince"/>) are listed.
/// </param>
/// <param name="TrackingSince">When tracking began as far as the store shows: the commit time of the oldest stored change (null for an empty store).</param>
public sealed record AsOfResult(TableName Table, DateTimeOffset At, IReadOnlyList<AsOfRow> Rows, bool Complete, DateTimeOffset? TrackingSince)
{
    /// <summary>One sentence that says how complete the result is, for people.</summary>
    public string CompletenessNote => Complete
        ? "complete: a baseline of the rows that existed before tracking began is stored"
        : TrackingSince is { } since
            ? $"complete only for rows changed since tracking began ({since.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}Z): rows untouched since then are not known"
            : "the store holds no changes yet: nothing about this table is known";
}

/// <summary>A question the store cannot answer faithfully (e.g. as-of of a table without a primary key).</summary>
public sealed class AuditQueryException(string message) : Exception(message);
