using Hindsight.Diagnostics;
using Hindsight.Model;
using Npgsql;

namespace Hindsight.Query;

// As-of: a table, or one of its rows, as it was at a moment, a transaction or an LSN.
public sealed partial class AuditTrail
{
    // Tables of later store migrations (baselines: 5, schema changes: 9, the prune log: 11): asked for once per AuditTrail
    // rather than at every read, and again only while a store has not reached them.
    private readonly Store.MigratedTable _baselines = new("baselines");
    private readonly Store.MigratedTable _schemaChanges = new("schema_changes");
    private readonly Store.MigratedTable _prunes = new("prunes");

    /// <summary>
    /// A table, or one row of it, as it was at <paramref name="at"/>: for each key the latest change committed at or before
    /// that moment, left out when it is a DELETE or when a TRUNCATE of the table came after it (at or before the moment).
    /// One set-based query (DISTINCT ON over the (table, primary_key, committed_at) index).
    /// </summary>
    /// <param name="table">The table; a bare name must be unambiguous in the store.</param>
    /// <param name="at">The moment: changes committed at or before it count.</param>
    /// <param name="primaryKey">One row's key (as stored; a composite key as a JSON array), or null for the whole table.</param>
    /// <param name="database">The tracked database, by name; null for any (then the table must be unambiguous).</param>
    /// <param name="source">The source, by its name in the store; null for any (then the table must be unambiguous).</param>
    /// <param name="ct">Cancels the query.</param>
    /// <exception cref="AuditQueryException">
    /// The table has row changes without a primary key at that moment (its rows cannot be told apart, so it cannot be
    /// rebuilt row by row), or a bare name matches tables of more than one schema or source.
    /// </exception>
    public Task<AsOfResult> AsOfAsync(TableName table, DateTimeOffset at, string? primaryKey = null, string? database = null,
        string? source = null, CancellationToken ct = default) =>
        AsOfAsync(table, AsOfPoint.At(at), primaryKey, database, source, ct);

    /// <summary>
    /// A table, or one row of it, as it was at <paramref name="point"/>: a moment (as the overload taking a time), right
    /// after a source transaction committed, or at an LSN. For a transaction or an LSN, the changes whose commit LSN is
    /// at or before the point's count, in commit LSN order — exact commit order within a database, where commit times
    /// can tie. For each key the newest counted change, left out when it is a DELETE or when a counted TRUNCATE of the
    /// table came after it.
    /// </summary>
    /// <param name="table">The table; a bare name must be unambiguous in the store.</param>
    /// <param name="point">Which state: <see cref="AsOfPoint.At"/>, <see cref="AsOfPoint.AfterTransaction"/> or <see cref="AsOfPoint.AtLsn"/>.</param>
    /// <param name="primaryKey">One row's key (as stored; a composite key as a JSON array), or null for the whole table.</param>
    /// <param name="database">
    /// The tracked database, by name; null for any (then the table must be unambiguous, and a transaction id must name one
    /// transaction in the store). A transaction confines the read to its own source.
    /// </param>
    /// <param name="source">The source, by its name in the store; null for any (as for <paramref name="database"/>).</param>
    /// <param name="ct">Cancels the query.</param>
    /// <exception cref="AuditQueryException">
    /// The transaction is not in the store, or its id names transactions of more than one database (or, after xid
    /// wraparound, more than one transaction); nothing is stored at or before the LSN; the table has row changes without
    /// a primary key at that point; or a bare name matches tables of more than one schema or database.
    /// </exception>
    public Task<AsOfResult> AsOfAsync(TableName table, AsOfPoint point, string? primaryKey = null, string? database = null,
        string? source = null, CancellationToken ct = default) =>
        AsOfAsync(table, point, primaryKey, null, SourceScope.Of(source, database), ct);

    /// <summary>
    /// One page of a table as it was at <paramref name="point"/>: the rows whose keys come after
    /// <see cref="AsOfPage.AfterKey"/> (in the store's key order, bytewise), at most <see cref="AsOfPage.Limit"/> of them.
    /// Only that page is read: the store walks the table's keys in order and stops, so a page of a table with millions
    /// of stored changes costs about as much as the page. Follow <see cref="AsOfResult.NextKey"/> for the next page.
    /// Otherwise as <see cref="AsOfAsync(TableName, AsOfPoint, string?, string?, string?, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="AuditQueryException">As for the whole table.</exception>
    public Task<AsOfResult> AsOfPageAsync(TableName table, AsOfPoint point, AsOfPage page, string? database = null,
        string? source = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(page);
        return AsOfAsync(table, point, null, page, SourceScope.Of(source, database), ct);
    }

    private Task<AsOfResult> AsOfAsync(TableName table, AsOfPoint point, string? primaryKey, AsOfPage? page, SourceScope? given,
        CancellationToken ct) =>
        HindsightTracing.TraceAsync("hindsight.asof",
            [HindsightTracing.Tag("hindsight.table", table?.ToString()), HindsightTracing.Tag("hindsight.point", point?.ToString()),
             HindsightTracing.Tag("hindsight.primary_key", primaryKey)],
            () => AsOfCoreAsync(table!, point!, primaryKey, page, given, ct),
            result => [HindsightTracing.Tag("hindsight.rows", result.Rows.Count), HindsightTracing.Tag("hindsight.complete", result.Complete)]);

    private async Task<AsOfResult> AsOfCoreAsync(TableName table, AsOfPoint point, string? primaryKey, AsOfPage? page, SourceScope? given,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(point);
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var (cut, scope) = await AsOfPointResolver.ResolveAsync(conn, point, given, ct).ConfigureAwait(false);
        // Before a prune's horizon the rows that were deleted then are gone from the trail: refused, not rebuilt from what is left.
        PrunedHistory.RequireAfter(await PrunedHorizonAsync(conn, scope?.Source, table.Schema, table.Name, ct).ConfigureAwait(false), table, cut.At, "as-of");
        // The table's columns over time, and its earlier names, when the store knows its schema changes.
        var timeline = await TimelineAsync(conn, table, scope, cut, ct).ConfigureAwait(false);
        var lineage = timeline.Lineage;

        // Keyless row changes not wiped out by a later TRUNCATE: such a table cannot be rebuilt row by row.
        var (keylessSql, kp) = ChangeSql.KeylessStatement(table, scope, cut, lineage);
        {
            var cmd = new NpgsqlCommand(keylessSql, conn);
            await using (cmd.ConfigureAwait(false))
            {
                kp.ApplyTo(cmd);
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                if (await r.ReadAsync(ct).ConfigureAwait(false))
                    throw new AuditQueryException(
                        $"table {new TableName(r.GetString(0), r.GetString(1))} has changes without a primary key: its rows cannot be told apart, " +
                        "so it cannot be rebuilt row by row (add a primary key; changes from then on can be)");
            }
        }

        var hasBaselines = await _baselines.ExistsAsync(conn, ct).ConfigureAwait(false);
        var (sql, p) = ChangeSql.AsOfStatement(table, cut, primaryKey, scope, hasBaselines, page, lineage);

        var rows = new List<AsOfRow>();
        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        var off = new NpgsqlCommand(ChangeSql.AsOfSettings, conn, tx);
        await using (off.ConfigureAwait(false))
            await off.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        {
            var cmd = new NpgsqlCommand(sql, conn, tx);
            await using (cmd.ConfigureAwait(false))
            {
                p.ApplyTo(cmd);
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                // The image stays UTF-8 bytes (as PostgreSQL sent the text): parsed only if a caller reads AsOfRow.Row.
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                    rows.Add(new AsOfRow(r.GetString(6), r.GetString(1), table.Name, r.GetString(2), r.GetFieldValue<byte[]>(3),
                        r.GetInt64(4), r.GetFieldValue<DateTimeOffset>(5)) { Source = r.GetString(0), Place = (r.GetInt64(7), r.GetInt64(8)) });
            }
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        // A renamed table's rows may be stored under another schema it had: it is in one place, where it is now.
        var place = lineage is not null ? timeline.Place : RequireOnePlace(table, rows.Select(row => (row.Source, row.Schema)));
        string? next = null;
        if (page is not null && rows.Count > page.Limit)
        {
            rows.RemoveAt(rows.Count - 1); // read one more than asked: there is a next page
            next = rows[^1].PrimaryKey;
        }
        if (!timeline.IsEmpty && timeline.Place == place) rows = InSchemaAtCut(timeline, rows);
        var untracked = await UntrackedAsync(conn, table, scope, place, rows, ct).ConfigureAwait(false);

        // The rows are one source's: whether a baseline vouches for them, and since when it is tracked, is that source's.
        var rowsScope = place is { } p0 ? (scope ?? new SourceScope(null, null)).WithSource(p0.Source) : scope;
        var complete = hasBaselines && await BaselineCoversAsync(conn, table, cut, rowsScope, ct).ConfigureAwait(false);
        var since = await TrackingSinceAsync(conn, place is null ? given : rowsScope, ct).ConfigureAwait(false);
        return new AsOfResult(table, cut.At, rows, complete, since, point) { NextKey = next, UntrackedColumns = untracked };
    }

    /// <summary>Up to when a table's history was pruned (<see cref="PrunedHistory"/>); null on a store older than retention.</summary>
    private async Task<DateTimeOffset?> PrunedHorizonAsync(NpgsqlConnection conn, string? source, string? schema, string table, CancellationToken ct) =>
        await _prunes.ExistsAsync(conn, ct).ConfigureAwait(false)
            ? await PrunedHistory.ReadHorizonAsync(conn, source, schema, table, ct).ConfigureAwait(false)
            : null;

    /// <summary>The schema versions of the table named <paramref name="table"/> at the cut (null cut: now); empty on a
    /// store that records none.</summary>
    private async Task<SchemaTimeline> TimelineAsync(NpgsqlConnection conn, TableName table, SourceScope? scope, AsOfCut? cut, CancellationToken ct) =>
        await HasSchemaChangesAsync(conn, ct).ConfigureAwait(false)
            ? await SchemaTimeline.ReadAsync(conn, table, scope, cut, ct).ConfigureAwait(false)
            : SchemaTimeline.Empty;

    /// <summary>Whether the store has <c>hindsight.schema_changes</c>.</summary>
    private ValueTask<bool> HasSchemaChangesAsync(NpgsqlConnection conn, CancellationToken ct) => _schemaChanges.ExistsAsync(conn, ct);

    /// <summary>
    /// The rows with the columns the table had at the cut (renamed columns under their name then, dropped ones gone, added
    /// ones with the value such rows read), without the rows of an earlier life of the table (before a drop, or a drop and
    /// a new create, of the same name).
    /// </summary>
    private static List<AsOfRow> InSchemaAtCut(SchemaTimeline timeline, List<AsOfRow> rows)
    {
        var result = new List<AsOfRow>(rows.Count);
        foreach (var row in rows)
        {
            if (!timeline.InCurrentLife(row.Place.CommitLsn, row.Place.Position)) continue;
            var projected = timeline.Project(row.RowJson.Span, row.Place.CommitLsn, row.Place.Position);
            result.Add(projected is null ? row : row.WithImage(projected));
        }
        return result;
    }

    /// <summary>
    /// The table's untracked columns: the generated ones the store recorded as not published (each row told which it
    /// lacks), and the columns any row holds redacted. Only rows that contain a digest's prefix are parsed.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, UntrackedReason>> UntrackedAsync(NpgsqlConnection conn, TableName table,
        SourceScope? scope, (string Source, string Schema)? place, List<AsOfRow> rows, CancellationToken ct)
    {
        var stored = await StoredUntrackedColumns.ReadAsync(conn, table, scope, ct).ConfigureAwait(false);
        // Without rows the place comes from the recorded columns, when they name one table.
        place ??= stored.Select(u => (u.Source, u.Schema)).Distinct().ToList() is [var only] ? only : null;
        var marks = new SortedDictionary<string, UntrackedReason>(StringComparer.Ordinal);
        var generated = stored.Where(u => (u.Source, u.Schema) == place && u.Reason == UntrackedReason.Generated)
            .Select(u => u.Column).ToHashSet(StringComparer.Ordinal);
        foreach (var column in generated) marks[column] = UntrackedReason.Generated;
        foreach (var row in rows)
        {
            if (generated.Count > 0) row.GeneratedColumns = generated;
            if (!ImageMarks.MayHoldRedacted(row.RowJson.Span)) continue;
            foreach (var (column, reason) in row.UntrackedColumns)
                if (reason == UntrackedReason.Redacted) marks.TryAdd(column, reason);
        }
        return new Dictionary<string, UntrackedReason>(marks);
    }

    /// <summary>
    /// Whether a baseline (<c>setup --snapshot</c>) of the table counts at the point, and its slot was not dropped before
    /// it (teardown ends a baseline: changes made after go unseen): then every row the table had is known — those
    /// untouched since the baseline through their SNAPSHOT rows.
    /// </summary>
    private static async Task<bool> BaselineCoversAsync(NpgsqlConnection conn, TableName table, AsOfCut cut, SourceScope? scope,
        CancellationToken ct)
    {
        var (sql, p) = ChangeSql.BaselineCoversStatement(table, cut, scope);
        var cmd = new NpgsqlCommand(sql, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        return (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>
    /// The commit time of the first stored commit of the scope's source, or the earliest over every stored source (of the
    /// scope's database).
    /// </summary>
    private static async Task<DateTimeOffset?> TrackingSinceAsync(NpgsqlConnection conn, SourceScope? scope, CancellationToken ct)
    {
        var (sql, p) = ChangeSql.TrackingSinceStatement(scope);
        var cmd = new NpgsqlCommand(sql, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var value = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is DateTime dt ? new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)) : null;
    }
}
