using System.Text.Json.Nodes;
using Hindsight.Diagnostics;
using Hindsight.Model;

namespace Hindsight.Query;

// History: every version of one row, or a window of them from either end.
public sealed partial class AuditTrail
{
    /// <summary>
    /// Every version of one row: its changes ordered by (commit time, commit LSN, ordinal), each with the row it left and
    /// a column diff against the row before. A TRUNCATE of the table while the row existed is part of its history (the row
    /// was removed); earlier or later TRUNCATEs are not.
    /// </summary>
    /// <param name="table">The row's table; a bare name must be unambiguous in the store.</param>
    /// <param name="primaryKey">The key as stored; a composite key as a JSON array (<c>[1,2]</c>).</param>
    /// <param name="newestFirst">Newest version first instead of oldest first.</param>
    /// <param name="database">The tracked database, by name; null for any (then the table must be unambiguous).</param>
    /// <param name="source">The source, by its name in the store; null for any (then the table must be unambiguous).</param>
    /// <param name="ct">Cancels the query.</param>
    /// <exception cref="AuditQueryException">The bare table name matches tables of more than one schema or source.</exception>
    public Task<RecordHistory> HistoryAsync(TableName table, string primaryKey, bool newestFirst = false, string? database = null,
        string? source = null, CancellationToken ct = default) =>
        TraceHistoryAsync(table, primaryKey, () => WholeHistoryAsync(table, primaryKey, newestFirst, database, source, ct));

    private static Task<RecordHistory> TraceHistoryAsync(TableName table, string primaryKey, Func<Task<RecordHistory>> read) =>
        HindsightTracing.TraceAsync("hindsight.history",
            [HindsightTracing.Tag("hindsight.table", table?.ToString()), HindsightTracing.Tag("hindsight.primary_key", primaryKey)],
            read, history => [HindsightTracing.Tag("hindsight.versions", history.Versions.Count)]);

    private async Task<RecordHistory> WholeHistoryAsync(TableName table, string primaryKey, bool newestFirst, string? database,
        string? source, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(primaryKey);
        var scope = SourceScope.Of(source, database);
        var timeline = await CurrentTimelineAsync(table, scope, ct).ConfigureAwait(false);
        var (sql, p) = ChangeSql.HistoryStatement(table, primaryKey, scope, lineage: timeline.Lineage);
        var changes = await ReadChangesAsync(sql, p, ct).ConfigureAwait(false);
        var place = timeline.Lineage is not null ? timeline.Place
            : RequireOnePlace(table, changes.Where(c => c.PrimaryKey is not null).Select(c => (c.Source, c.Schema)));
        var versions = Versions(changes, place, current: null);
        if (newestFirst) versions.Reverse();
        return new RecordHistory(table, primaryKey, versions) { PrunedUpTo = await PrunedUpToAsync(table, place, scope, ct).ConfigureAwait(false) };
    }

    /// <summary>Up to when the table's history was pruned, for the place its changes are stored (else the scope's).</summary>
    private async Task<DateTimeOffset?> PrunedUpToAsync(TableName table, (string Source, string Schema)? place, SourceScope? scope, CancellationToken ct)
    {
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        return await PrunedHorizonAsync(conn, place?.Source ?? scope?.Source, place?.Schema ?? table.Schema, table.Name, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// At most <paramref name="limit"/> versions of one row from the newest end of its history (or the oldest, with
    /// <paramref name="newestFirst"/> false), with the same rows and diffs <see cref="HistoryAsync(TableName, string, bool, string?, string?, CancellationToken)"/>
    /// gives them. The store reads only that end of the row's changes, so a row changed millions of times costs what a
    /// row changed <paramref name="limit"/> times does. <see cref="RecordHistory.HasMore"/> says whether the history goes on.
    /// </summary>
    /// <param name="table">The row's table; a bare name must be unambiguous in the store.</param>
    /// <param name="primaryKey">The key as stored; a composite key as a JSON array (<c>[1,2]</c>).</param>
    /// <param name="limit">The most versions to return (1 or more). TRUNCATEs of the table when the row did not exist
    /// are not versions, so fewer may come back while <see cref="RecordHistory.HasMore"/> is true.</param>
    /// <param name="newestFirst">The newest versions, newest first (default), or the oldest, oldest first.</param>
    /// <param name="database">The tracked database, by name; null for any (then the table must be unambiguous).</param>
    /// <param name="source">The source, by its name in the store; null for any (then the table must be unambiguous).</param>
    /// <param name="ct">Cancels the query.</param>
    /// <exception cref="AuditQueryException">The bare table name matches tables of more than one schema or source.</exception>
    public Task<RecordHistory> HistoryAsync(TableName table, string primaryKey, int limit, bool newestFirst = true,
        string? database = null, string? source = null, CancellationToken ct = default) =>
        TraceHistoryAsync(table, primaryKey, () => HistoryWindowAsync(table, primaryKey, limit, newestFirst, database, source, ct));

    private async Task<RecordHistory> HistoryWindowAsync(TableName table, string primaryKey, int limit, bool newestFirst,
        string? database, string? source, CancellationToken ct)
    {
        var scope = SourceScope.Of(source, database);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(primaryKey);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        // One change more than asked: from the newest end it is the one just before the window, whose row the window's
        // first diff may need; from the oldest end it only says that more follow.
        var timeline = await CurrentTimelineAsync(table, scope, ct).ConfigureAwait(false);
        var (sql, p) = ChangeSql.HistoryStatement(table, primaryKey, scope, limit + 1, newestFirst, timeline.Lineage);
        var changes = await ReadChangesAsync(sql, p, ct).ConfigureAwait(false);
        if (newestFirst) changes.Reverse(); // oldest first, as versions are built
        var hasMore = changes.Count > limit;
        var place = timeline.Lineage is not null ? timeline.Place
            : RequireOnePlace(table, changes.Where(c => c.PrimaryKey is not null).Select(c => (c.Source, c.Schema)));
        if (place is not null && timeline.Lineage is null && (table.Schema is null || source is null))
            await RequireNoOtherPlaceAsync(table, primaryKey, scope, place.Value, ct).ConfigureAwait(false);

        List<RecordVersion> versions;
        if (!hasMore) versions = Versions(changes, place, current: null);
        else if (!newestFirst) versions = Versions(changes.Take(limit), place, current: null);
        else
        {
            var before = changes[0];
            if (before.PrimaryKey is null && (before.Source, before.Schema) != place)
            {
                // A TRUNCATE of a same-named table elsewhere says nothing about this row: read the history whole.
                var whole = await HistoryAsync(table, primaryKey, newestFirst: true, database, source, ct).ConfigureAwait(false);
                return new RecordHistory(table, primaryKey, whole.Versions.Take(limit).ToList())
                {
                    HasMore = whole.Versions.Count > limit, PrunedUpTo = whole.PrunedUpTo,
                };
            }
            // After a TRUNCATE of its table, or a DELETE, the row did not exist; after anything else it was that change's image.
            var current = before.PrimaryKey is null || before.Operation is Operation.Delete ? null : before.After;
            versions = Versions(changes.Skip(1), place, current);
        }
        if (newestFirst) versions.Reverse();
        return new RecordHistory(table, primaryKey, versions)
        {
            HasMore = hasMore, PrunedUpTo = await PrunedUpToAsync(table, place, scope, ct).ConfigureAwait(false),
        };
    }

    /// <summary>The table's schema versions up to now (its earlier names in particular), on its own connection.</summary>
    private async Task<SchemaTimeline> CurrentTimelineAsync(TableName table, SourceScope? scope, CancellationToken ct)
    {
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        return await TimelineAsync(conn, table, scope, null, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The versions of a row from its changes and the TRUNCATEs of its table, oldest first. <paramref name="current"/> is
    /// the row as it was before the first of them (null: it did not exist, or nothing is known before them).
    /// </summary>
    private static List<RecordVersion> Versions(IEnumerable<Change> changes, (string Source, string Schema)? place, JsonObject? current)
    {
        var versions = new List<RecordVersion>();
        foreach (var change in changes)
        {
            if (change.PrimaryKey is null)
            {
                // A TRUNCATE removes the row only if the row existed then (and only in the row's own table).
                if (current is null || (change.Source, change.Schema) != place) continue;
                versions.Add(new RecordVersion(change, null, RowDiff.Compute(current, [])));
                current = null;
                continue;
            }
            var row = change.Operation is Operation.Delete ? null : change.After;
            // The change's own images say what it changed; a missing before-image (a row first seen by an UPDATE under
            // REPLICA IDENTITY DEFAULT) falls back to the previous version.
            var before = change.Before.Count > 0 || change.Operation is Operation.Create or Operation.Snapshot
                ? change.Before
                : current ?? [];
            versions.Add(new RecordVersion(change, row, RowDiff.Compute(before, row ?? [])));
            current = row;
        }
        return versions;
    }

    /// <summary>
    /// For a window of a row's history named by a bare table name or without a source: the whole history would have seen
    /// the key in another place (and refused the name as ambiguous); the window may not reach that far, so ask the store.
    /// </summary>
    private async Task RequireNoOtherPlaceAsync(TableName table, string primaryKey, SourceScope? sourceScope, (string Source, string Schema) place,
        CancellationToken ct)
    {
        var (sql, p) = ChangeSql.OtherPlaceStatement(table, primaryKey, sourceScope, place);
        var cmd = _store.CreateCommand(sql);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        if (await r.ReadAsync(ct).ConfigureAwait(false)) RequireOnePlace(table, [place, (r.GetString(0), r.GetString(1))]);
    }
}
