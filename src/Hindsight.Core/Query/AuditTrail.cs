using System.Text.Json.Nodes;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// The query side of the pipeline (docs/design.md, "Reading the trail"): filtered changes with keyset pagination, the history of one row, and a
/// table or row as it was at a moment. Reads <c>hindsight.changes</c> through the given data source; never writes.
/// </summary>
/// <remarks>
/// Everything a caller passes reaches PostgreSQL as a parameter: table names, keys and JSON are compared as values,
/// never spliced into SQL. Thread-safe: each call takes its own connection from the data source.
/// </remarks>
/// <param name="store">The store database (the one holding schema <c>hindsight</c>).</param>
public sealed class AuditTrail(NpgsqlDataSource store)
{
    private readonly NpgsqlDataSource _store = store ?? throw new ArgumentNullException(nameof(store));

    // Set once the store is seen to have hindsight.baselines (migration 5). Migrations only go forward, so it is asked
    // once per AuditTrail rather than at every as-of; a store not migrated yet is asked again, as setup may run meanwhile.
    private volatile bool _hasBaselines;

    /// <summary>
    /// One page of the changes that match <paramref name="filter"/>, newest first unless
    /// <see cref="PageRequest.OldestFirst"/>. Pages are keyset-paginated on <see cref="Change.Id"/> (the store's order,
    /// which is commit order per database): following <see cref="ChangePage.NextCursor"/> visits every matching change
    /// exactly once, however many changes are stored meanwhile.
    /// </summary>
    public async Task<ChangePage> QueryAsync(ChangeFilter filter, PageRequest? page = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        page ??= new PageRequest();
        var p = new ChangeSql.Parameters();
        var where = ChangeSql.Where(filter, p);
        var cursor = page.Cursor is { } c
            ? $"\n  AND c.id {(page.OldestFirst ? ">" : "<")} {p.Add(c, NpgsqlDbType.Bigint)}"
            : "";
        var limit = p.Add(page.Limit + 1, NpgsqlDbType.Integer);
        var sql = $"""
            SELECT {ChangeSql.Columns}
            FROM hindsight.changes c
            WHERE {where}{cursor}
            ORDER BY c.id {(page.OldestFirst ? "ASC" : "DESC")}
            LIMIT {limit}
            """;
        var changes = await ReadChangesAsync(sql, p, ct);
        if (changes.Count <= page.Limit) return new ChangePage(changes, null);
        changes.RemoveAt(changes.Count - 1);
        return new ChangePage(changes, changes[^1].Id);
    }

    /// <summary>The sources the store holds changes of, by name, in bytewise order (one index probe per source).</summary>
    public async Task<IReadOnlyList<string>> SourcesAsync(CancellationToken ct = default)
    {
        await using var cmd = _store.CreateCommand($"{ChangeSql.StoredSources}\nSELECT s.source FROM stored_sources s WHERE s.source IS NOT NULL");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var sources = new List<string>();
        while (await r.ReadAsync(ct)) sources.Add(r.GetString(0));
        return sources;
    }

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
    public async Task<RecordHistory> HistoryAsync(TableName table, string primaryKey, bool newestFirst = false, string? database = null,
        string? source = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(primaryKey);
        var (sql, p) = HistoryStatement(table, primaryKey, SourceScope.Of(source, database));
        var changes = await ReadChangesAsync(sql, p, ct);
        var place = RequireOnePlace(table, changes.Where(c => c.PrimaryKey is not null).Select(c => (c.Source, c.Schema)));
        var versions = Versions(changes, place, current: null);
        if (newestFirst) versions.Reverse();
        return new RecordHistory(table, primaryKey, versions);
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
    public async Task<RecordHistory> HistoryAsync(TableName table, string primaryKey, int limit, bool newestFirst = true,
        string? database = null, string? source = null, CancellationToken ct = default)
    {
        var scope = SourceScope.Of(source, database);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(primaryKey);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        // One change more than asked: from the newest end it is the one just before the window, whose row the window's
        // first diff may need; from the oldest end it only says that more follow.
        var (sql, p) = HistoryStatement(table, primaryKey, scope, limit + 1, newestFirst);
        var changes = await ReadChangesAsync(sql, p, ct);
        if (newestFirst) changes.Reverse(); // oldest first, as versions are built
        var hasMore = changes.Count > limit;
        var place = RequireOnePlace(table, changes.Where(c => c.PrimaryKey is not null).Select(c => (c.Source, c.Schema)));
        if (place is not null && (table.Schema is null || source is null))
            await RequireNoOtherPlaceAsync(table, primaryKey, scope, place.Value, ct);

        List<RecordVersion> versions;
        if (!hasMore) versions = Versions(changes, place, current: null);
        else if (!newestFirst) versions = Versions(changes.Take(limit), place, current: null);
        else
        {
            var before = changes[0];
            if (before.PrimaryKey is null && (before.Source, before.Schema) != place)
            {
                // A TRUNCATE of a same-named table elsewhere says nothing about this row: read the history whole.
                var whole = await HistoryAsync(table, primaryKey, newestFirst: true, database, source, ct);
                return new RecordHistory(table, primaryKey, whole.Versions.Take(limit).ToList()) { HasMore = whole.Versions.Count > limit };
            }
            // After a TRUNCATE of its table, or a DELETE, the row did not exist; after anything else it was that change's image.
            var current = before.PrimaryKey is null || before.Operation is Operation.Delete ? null : before.After;
            versions = Versions(changes.Skip(1), place, current);
        }
        if (newestFirst) versions.Reverse();
        return new RecordHistory(table, primaryKey, versions) { HasMore = hasMore };
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
        var p = new ChangeSql.Parameters();
        var scope = ChangeSql.Scope(table, sourceScope, p);
        var key = ChangeSql.KeyIs(primaryKey, p);
        var d = p.Add(place.Source, NpgsqlDbType.Text);
        var sch = p.Add(place.Schema, NpgsqlDbType.Text);
        await using var cmd = _store.CreateCommand(
            $"""
            SELECT c.source, c.schema FROM hindsight.changes c
            WHERE {scope} AND {key} AND (c.source <> {d} OR c.schema <> {sch})
            LIMIT 1
            """);
        p.ApplyTo(cmd);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (await r.ReadAsync(ct)) RequireOnePlace(table, [place, (r.GetString(0), r.GetString(1))]);
    }

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

    private async Task<AsOfResult> AsOfAsync(TableName table, AsOfPoint point, string? primaryKey, AsOfPage? page, SourceScope? given,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(point);
        await using var conn = await _store.OpenConnectionAsync(ct);
        var (cut, scope) = await AsOfPointResolver.ResolveAsync(conn, point, given, ct);

        // Keyless row changes not wiped out by a later TRUNCATE: such a table cannot be rebuilt row by row.
        var kp = new ChangeSql.Parameters();
        var kscope = ChangeSql.Scope(table, scope, kp);
        var kcut = cut.Bind(kp);
        var keylessSql = $"""
            SELECT c.schema, c."table" FROM hindsight.changes c
            WHERE {kscope} AND c.primary_key IS NULL AND c.operation <> 'TRUNCATE' AND {kcut.Counts("c")}
              AND NOT EXISTS (
                SELECT 1 FROM hindsight.changes t
                WHERE t."table" = c."table" AND t.schema = c.schema AND t.source = c.source
                  AND t.primary_key IS NULL AND t.operation = 'TRUNCATE' AND {kcut.Counts("t")}
                  AND {kcut.Position("t")} > {kcut.Position("c")})
            LIMIT 1
            """;
        await using (var cmd = new NpgsqlCommand(keylessSql, conn))
        {
            kp.ApplyTo(cmd);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            if (await r.ReadAsync(ct))
                throw new AuditQueryException(
                    $"table {new TableName(r.GetString(0), r.GetString(1))} has changes without a primary key: its rows cannot be told apart, " +
                    "so it cannot be rebuilt row by row (add a primary key; changes from then on can be)");
        }

        var hasBaselines = _hasBaselines || (_hasBaselines = await Store.StoreMigrations.HasBaselinesAsync(conn, null, ct));
        var (sql, p) = AsOfStatement(table, cut, primaryKey, scope, hasBaselines, page);

        var rows = new List<AsOfRow>();
        // Parallel workers would each recompute `latest` in full (EXPLAIN: loops=3), and a whole-table estimate led the
        // planner to merge-join against every stored change: the image is fetched per survivor instead (OFFSET 0 keeps
        // the lateral lookup a nested loop over the primary key, in id order for heap locality). JIT is off: the
        // statement's estimated cost passes jit_optimize_above_cost, and compiling it took ~0.4 s of a ~1.3 s execution
        // on a 1,000,000-change store while the plan is index scans and sorts that JIT does not speed up. BENCHMARKS-log.md, "Query".
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var off = new NpgsqlCommand("SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off", conn, tx))
            await off.ExecuteNonQueryAsync(ct);
        await using (var cmd = new NpgsqlCommand(sql, conn, tx))
        {
            p.ApplyTo(cmd);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            // The image stays UTF-8 bytes (as PostgreSQL sent the text): parsed only if a caller reads AsOfRow.Row.
            while (await r.ReadAsync(ct))
                rows.Add(new AsOfRow(r.GetString(6), r.GetString(1), table.Name, r.GetString(2), r.GetFieldValue<byte[]>(3),
                    r.GetInt64(4), r.GetFieldValue<DateTimeOffset>(5)) { Source = r.GetString(0) });
        }
        await tx.CommitAsync(ct);
        var place = RequireOnePlace(table, rows.Select(row => (row.Source, row.Schema)));
        var untracked = await UntrackedAsync(conn, table, scope, place, rows, ct);

        // The rows are one source's: whether a baseline vouches for them, and since when it is tracked, is that source's.
        var rowsScope = place is { } p0 ? (scope ?? new SourceScope(null, null)).WithSource(p0.Source) : scope;
        var complete = hasBaselines && await BaselineCoversAsync(conn, table, cut, rowsScope, ct);
        var since = await TrackingSinceAsync(conn, place is null ? given : rowsScope, ct);
        string? next = null;
        if (page is not null && rows.Count > page.Limit)
        {
            rows.RemoveAt(rows.Count - 1); // read one more than asked: there is a next page
            next = rows[^1].PrimaryKey;
        }
        return new AsOfResult(table, cut.At, rows, complete, since, point) { NextKey = next, UntrackedColumns = untracked };
    }

    /// <summary>
    /// The table's untracked columns: the generated ones the store recorded as not published (each row told which it
    /// lacks), and the columns any row holds redacted. Only rows that contain a digest's prefix are parsed.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, UntrackedReason>> UntrackedAsync(NpgsqlConnection conn, TableName table,
        SourceScope? scope, (string Source, string Schema)? place, List<AsOfRow> rows, CancellationToken ct)
    {
        var stored = await StoredUntrackedColumns.ReadAsync(conn, table, scope, ct);
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
        var p = new ChangeSql.Parameters();
        var at = cut.Bind(p);
        var moment = p.Add(cut.At.ToUniversalTime(), NpgsqlDbType.TimestampTz);
        var sql = $"""
            SELECT EXISTS (SELECT 1 FROM ({BaselineRows}) b
                           WHERE {ChangeSql.Scope(table, scope, p, "b")} AND {at.Counts("b")} AND (b.ended_at IS NULL OR b.ended_at > {moment}))
            """;
        await using var cmd = new NpgsqlCommand(sql, conn);
        p.ApplyTo(cmd);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// The commit time of the first stored commit (lowest commit LSN) of the scope's source, or the earliest over every
    /// stored source (of the scope's database): one probe of the (source, commit_lsn, ordinal) key index per source.
    /// (min(committed_at) would read every stored change: the committed_at index is BRIN, which cannot answer min.)
    /// </summary>
    private static async Task<DateTimeOffset?> TrackingSinceAsync(NpgsqlConnection conn, SourceScope? scope, CancellationToken ct)
    {
        var p = new ChangeSql.Parameters();
        var ofDatabase = scope?.Database is { } database ? $" AND c.database = {p.Add(database, NpgsqlDbType.Text)}" : "";
        string First(string s) =>
            $"SELECT c.committed_at FROM hindsight.changes c WHERE c.source = {s}{ofDatabase} ORDER BY c.commit_lsn, c.ordinal LIMIT 1";
        var sql = scope?.Source is { } source
            ? First(p.Add(source, NpgsqlDbType.Text))
            : $"{ChangeSql.StoredSources}\nSELECT min(f.committed_at) FROM stored_sources d CROSS JOIN LATERAL ({First("d.source")}) f";
        await using var cmd = new NpgsqlCommand(sql, conn);
        p.ApplyTo(cmd);
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is DateTime dt ? new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)) : null;
    }

    private static (string Source, string Schema)? RequireOnePlace(TableName table, IEnumerable<(string Source, string Schema)> places)
    {
        var distinct = places.Distinct().ToList();
        if (distinct.Count > 1)
            throw new AuditQueryException(
                $"table {table} is ambiguous: the store holds {string.Join(", ", distinct.Select(d => $"source {d.Source}: {new TableName(d.Schema, table.Name)}"))}; " +
                (distinct.Select(d => d.Source).Distinct().Count() > 1 ? "name its source" : "name its schema (schema.table)"));
        return distinct.Count == 0 ? null : distinct[0];
    }

    /// <summary>The order of a row's history: by commit, then by place within its transaction.</summary>
    private const string HistoryOrder = "committed_at, commit_lsn, ordinal";

    /// <summary>
    /// The history statement and its parameters (the query benchmark EXPLAINs this very statement): a row's changes and
    /// its table's TRUNCATEs, oldest first; with <paramref name="limit"/>, only that many from the chosen end, in that
    /// end's order (newest first from the newest end).
    /// </summary>
    internal static (string Sql, ChangeSql.Parameters Parameters) HistoryStatement(TableName table, string primaryKey, SourceScope? sourceScope,
        int? limit = null, bool newestFirst = false)
    {
        var p = new ChangeSql.Parameters();
        var scope = ChangeSql.Scope(table, sourceScope, p);
        // Two index ranges of (table, primary_key, committed_at): the row's changes, and the table's TRUNCATEs.
        if (limit is not { } n)
            return ($"""
                SELECT {ChangeSql.Columns} FROM hindsight.changes c WHERE {scope} AND {ChangeSql.KeyIs(primaryKey, p)}
                UNION ALL
                SELECT {ChangeSql.Columns} FROM hindsight.changes c WHERE {scope} AND c.primary_key IS NULL AND c.operation = 'TRUNCATE'
                ORDER BY {HistoryOrder}
                """, p);
        // Each range limited on its own, so each is read from the chosen end of the index and stops after n rows. One range
        // per spelling of the key: with `= ANY(array)` on its second column the index no longer returns rows in order
        // (PostgreSQL before 17), and every version of the row would be read and sorted.
        var order = newestFirst ? "committed_at DESC, commit_lsn DESC, ordinal DESC" : HistoryOrder;
        var take = p.Add(n, NpgsqlDbType.Integer);
        var ranges = JsonText.KeyForms(primaryKey).Select(form =>
            $"(SELECT {ChangeSql.Columns} FROM hindsight.changes c WHERE {scope} AND c.primary_key = {p.Add(form, NpgsqlDbType.Text)} ORDER BY {order} LIMIT {take})");
        return ($"""
            {string.Join("\nUNION ALL\n", ranges)}
            UNION ALL
            (SELECT {ChangeSql.Columns} FROM hindsight.changes c WHERE {scope} AND c.primary_key IS NULL AND c.operation = 'TRUNCATE'
             ORDER BY {order} LIMIT {take})
            ORDER BY {order} LIMIT {take}
            """, p);
    }

    /// <summary>Where a baseline's barrier sorts among changes with the baseline's commit LSN: before all of its SNAPSHOT rows.</summary>
    private const int BaselineBarrierOrdinal = int.MinValue;

    /// <summary>Baselines as barrier rows, with the column names of changes (so <see cref="AsOfCut.Sql"/> applies to them).</summary>
    private static readonly string BaselineRows =
        $"SELECT source, database, schema, \"table\", taken_at AS committed_at, lsn AS commit_lsn, {BaselineBarrierOrdinal} AS ordinal, ended_at FROM hindsight.baselines";

    /// <summary>The as-of statement (one set-based query) and its parameters; the query benchmark EXPLAINs this very statement.</summary>
    internal static (string Sql, ChangeSql.Parameters Parameters) AsOfStatement(TableName table, AsOfCut cut, string? primaryKey, SourceScope? sourceScope,
        bool withBaselines = true, AsOfPage? page = null)
    {
        var p = new ChangeSql.Parameters();
        var scope = ChangeSql.Scope(table, sourceScope, p);
        var at = cut.Bind(p);
        var baselines = withBaselines
            ? $"\n          UNION ALL\n          SELECT b.source, b.schema, b.committed_at, b.commit_lsn, b.ordinal FROM ({BaselineRows}) b" +
              $"\n          WHERE {ChangeSql.Scope(table, sourceScope, p, "b")} AND {at.Counts("b")}"
            : "";
        var key = primaryKey is null ? "" : $" AND {ChangeSql.KeyIs(primaryKey, p)}";
        if (page?.AfterKey is { } after) key += $" AND c.primary_key > {p.Add(after, NpgsqlDbType.Text)}";
        // A whole table: the survivors in id order (heap locality for the image lookups). A page: the survivors in key
        // order, stopping after the page (one more row tells whether another page follows), so only the page is read.
        var survivors = page is null ? "ORDER BY l.id OFFSET 0" : $"ORDER BY l.primary_key LIMIT {p.Add(page.Limit + 1, NpgsqlDbType.Integer)}";
        // trunc: the newest barrier per schema — a TRUNCATE, or a baseline (setup --snapshot), which replaces whatever the
        // store knew of the table before it; its SNAPSHOT rows (ordinals -1, -2, …) sort after its barrier.
        // latest: the newest change of each key (narrow rows: the image is fetched only for the survivors).
        var sql = $"""
            WITH trunc AS (
                SELECT DISTINCT ON (t.source, t.schema) t.source, t.schema, t.committed_at, t.commit_lsn, t.ordinal
                FROM (SELECT c.source, c.schema, c.committed_at, c.commit_lsn, c.ordinal
                      FROM hindsight.changes c
                      WHERE {scope} AND c.primary_key IS NULL AND c.operation = 'TRUNCATE' AND {at.Counts("c")}{baselines}) t
                ORDER BY t.source, t.schema, {at.NewestFirst("t")}
            ), latest AS (
                SELECT DISTINCT ON (c.primary_key, c.source, c.schema)
                       c.id, c.source, c.database, c.schema, c.primary_key, c.operation, c.committed_at, c.commit_lsn, c.ordinal
                FROM hindsight.changes c
                WHERE {scope} AND c.primary_key IS NOT NULL AND {at.Counts("c")}{key}
                ORDER BY c.primary_key, c.source, c.schema, {at.NewestFirst("c")}
            )
            SELECT l.source, l.schema, l.primary_key, ch.after, l.id, l.committed_at, l.database
            FROM (SELECT l.* FROM latest l
                  LEFT JOIN trunc t ON t.source = l.source AND t.schema = l.schema
                  WHERE l.operation <> 'DELETE'
                    AND (t.source IS NULL OR {at.Position("l")} > {at.Position("t")})
                  {survivors}) l
            CROSS JOIN LATERAL (SELECT x.after::text AS after FROM hindsight.changes x WHERE x.id = l.id OFFSET 0) ch
            ORDER BY l.primary_key
            """;
        return (sql, p);
    }

    private async Task<List<Change>> ReadChangesAsync(string sql, ChangeSql.Parameters p, CancellationToken ct)
    {
        await using var cmd = _store.CreateCommand(sql);
        p.ApplyTo(cmd);
        return await ChangeSql.ReadAllAsync(cmd, ct);
    }
}
