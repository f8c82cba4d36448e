using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Server.Contracts;

namespace Hindsight.Server.Endpoints;

/// <summary>
/// The schema changes to show beside a row's versions: those of the row's table over the span the versions returned
/// cover, so a reader sees that a column was renamed between two versions, or that a migration ran just before one.
/// </summary>
internal static class HistorySchemaChanges
{
    /// <summary>
    /// The schema changes of <paramref name="history"/>'s table from its oldest version on: up to now, or, when newer
    /// versions were left out (read from the oldest end), up to the newest one returned. At most <paramref name="max"/>,
    /// the newest kept; in the order of the versions.
    /// </summary>
    public static async Task<(IReadOnlyList<SchemaChangeDto> Changes, bool Truncated)> ReadAsync(
        HindsightBackend backend, RecordHistory history, bool newestFirst, int max, CancellationToken ct)
    {
        if (history.Versions.Count == 0) return ([], false);
        var changes = history.Versions.Select(v => v.Change).ToList();
        var oldest = changes.MinBy(c => c.CommittedAt)!;
        var newest = changes.MaxBy(c => c.CommittedAt)!;
        // The until bound is exclusive: one microsecond (the store's precision) past the newest version keeps a schema
        // change of its own transaction.
        DateTimeOffset? until = !newestFirst && history.HasMore ? newest.CommittedAt.AddTicks(TimeSpan.TicksPerMicrosecond) : null;
        var limit = Math.Min(max, SchemaChangeFilter.MaxLimit - 1);
        var found = await backend.Trail.SchemaChangesAsync(new SchemaChangeFilter
        {
            // The table, source and database the versions were stored under: exact even when the request named a bare
            // table; the library follows the table through renames.
            Tables = [new TableName(newest.Schema, newest.Table)],
            Source = newest.Source,
            Database = newest.Database,
            Since = oldest.CommittedAt,
            Until = until,
            Limit = limit + 1,
        }, ct).ConfigureAwait(false);
        var shown = found.Take(limit).Select(SchemaChangeDto.From).ToList();
        if (!newestFirst) shown.Reverse();
        return (shown, found.Count > limit);
    }
}
