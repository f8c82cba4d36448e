using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>A table (or one row of it) as it was at a point (<see cref="AuditTrail.AsOfAsync(TableName, AsOfPoint, string?, string?, string?, CancellationToken)"/>).</summary>
/// <param name="Table">The table asked for.</param>
/// <param name="At">
/// The moment: for a point in time, that time (every change committed at or before it counts); for a transaction, its
/// commit time; for an LSN, the commit time of the newest stored commit at or before it (changes count by commit LSN
/// then, see <see cref="Point"/>).
/// </param>
/// <param name="Rows">The rows that existed then, as far as the store knows, ordered by key.</param>
/// <param name="Complete">
/// Whether <see cref="Rows"/> is every row the table had. False unless a baseline of the rows that existed before
/// tracking began is stored (<c>setup --snapshot</c>): without one, a row that was never changed since tracking began
/// is unknown, so only rows changed since then (<see cref="TrackingSince"/>) are listed.
/// </param>
/// <param name="TrackingSince">
/// When tracking began as far as the store shows: the commit time of the first stored commit (of the database asked
/// for, or the earliest over all databases); null for an empty store.
/// </param>
/// <param name="Point">The point asked for; null means <see cref="AsOfPoint.At"/> of <paramref name="At"/>.</param>
public sealed record AsOfResult(TableName Table, DateTimeOffset At, IReadOnlyList<AsOfRow> Rows, bool Complete, DateTimeOffset? TrackingSince,
    AsOfPoint? Point = null)
{
    /// <summary>For a page (<see cref="AuditTrail.AsOfPageAsync"/>): the key to pass as <see cref="AsOfPage.AfterKey"/> for the
    /// next page, or null when this page is the last.</summary>
    public string? NextKey { get; init; }

    /// <summary>
    /// The table's columns that the rows do not hold as data, column → why: <see cref="UntrackedReason.Generated"/>
    /// for generated columns the source does not publish (the images have no value for them: before PostgreSQL 18
    /// every generated column), <see cref="UntrackedReason.Redacted"/> for columns some row holds as a
    /// <c>redacted:…</c> digest. Each row says which of these it lacks or holds redacted
    /// (<see cref="AsOfRow.UntrackedColumns"/>). Read from the store alone: setup and every worker start record which
    /// columns the source does not publish.
    /// </summary>
    public IReadOnlyDictionary<string, UntrackedReason> UntrackedColumns { get; init; } = new Dictionary<string, UntrackedReason>();

    /// <summary>The point asked for: a time, a transaction or an LSN.</summary>
    public AsOfPoint Point { get; init; } = Point ?? AsOfPoint.At(At);

    /// <summary>Which point the rows are at, for people: "as of 2026-…Z", "as of transaction 1234 (committed …)", "as of LSN 0/16B3748 (…)".</summary>
    public string PointNote
    {
        get
        {
            var at = At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            if (Point.TransactionId is not null) return $"as of {Point} (committed {at})";
            if (Point.Lsn is not null) return $"as of {Point} (the newest stored commit at or before it: {at})";
            return $"as of {at}";
        }
    }

    /// <summary>One sentence naming the columns that are not tracked (<see cref="UntrackedColumns"/>), for people; null when none.</summary>
    public string? UntrackedNote => UntrackedColumns.Count == 0
        ? null
        : "not tracked: " + string.Join(", ", UntrackedColumns.GroupBy(c => c.Value).OrderBy(g => g.Key)
            .Select(g => $"{string.Join(", ", g.Select(c => c.Key).Order(StringComparer.Ordinal))} ({UntrackedReasons.Name(g.Key)}" +
                         (g.Key == UntrackedReason.Generated ? ": not published by the source, so no image holds a value" : ": the images hold a digest, not the value") + ")"));

    /// <summary>One sentence that says how complete the result is, for people.</summary>
    public string CompletenessNote => Complete
        ? "complete: a baseline of the rows that existed before tracking began is stored"
        : TrackingSince is { } since
            ? $"complete only for rows changed since tracking began ({since.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}Z): rows untouched since then are not known"
            : "the store holds no changes yet: nothing about this table is known";
}
