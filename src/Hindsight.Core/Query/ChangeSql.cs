using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// The SQL of the query side. Statements are fixed text chosen by which criteria are set; every value a caller gives
/// (names, keys, JSON, times) travels as a parameter.
/// </summary>
internal static class ChangeSql
{
    /// <summary>The columns of <see cref="Change"/>, for a table aliased <c>c</c>, in the order <see cref="Read"/> expects.</summary>
    public const string Columns =
        """
        c.id, c.database, c.schema, c."table", c.primary_key, c.operation, c.before::text, c.after::text, c.context::text,
        c.committed_at, c.transaction_id, c.position, c.commit_lsn, c.ordinal, c.queued_at, c.created_at, c.source
        """;

    /// <summary>
    /// A CTE <c>stored_sources(source)</c>: the distinct sources in the store, one probe of the
    /// (source, commit_lsn, ordinal) key index each (a loose index scan; there are few sources and millions of changes).
    /// </summary>
    public const string StoredSources =
        """
        WITH RECURSIVE stored_sources(source) AS (
            SELECT min(c.source) FROM hindsight.changes c
            UNION ALL
            SELECT (SELECT min(c.source) FROM hindsight.changes c WHERE c.source > d.source)
            FROM stored_sources d WHERE d.source IS NOT NULL
        )
        """;

    /// <summary>Runs <paramref name="cmd"/> (selecting <see cref="Columns"/>) and reads every row.</summary>
    public static async Task<List<Change>> ReadAllAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var changes = new List<Change>();
        while (await r.ReadAsync(ct).ConfigureAwait(false)) changes.Add(Read(r));
        return changes;
    }

    /// <summary>Reads a <see cref="Columns"/> row.</summary>
    public static Change Read(NpgsqlDataReader r) => new()
    {
        Id = r.GetInt64(0),
        Database = r.GetString(1),
        Schema = r.GetString(2),
        Table = r.GetString(3),
        PrimaryKey = r.IsDBNull(4) ? null : r.GetString(4),
        Operation = OperationParser.FromStored(r.GetString(5)),
        Before = ParseObject(r.GetString(6)),
        After = ParseObject(r.GetString(7)),
        Context = ParseObject(r.GetString(8)),
        CommittedAt = r.GetFieldValue<DateTimeOffset>(9),
        TransactionId = r.GetInt64(10),
        Position = r.GetInt64(11),
        CommitLsn = r.GetInt64(12),
        Ordinal = r.GetInt32(13),
        QueuedAt = r.GetFieldValue<DateTimeOffset>(14),
        CreatedAt = r.GetFieldValue<DateTimeOffset>(15),
        Source = r.GetString(16),
    };

    /// <summary>A stored image or context (always a JSON object in the store).</summary>
    public static JsonObject ParseObject(string json) => JsonNode.Parse(json) as JsonObject ?? [];

    /// <summary>Collects positional parameters (<c>$1</c>, <c>$2</c>, …) for one command.</summary>
    public sealed class Parameters
    {
        public List<NpgsqlParameter> List { get; } = [];

        /// <summary>Adds a value and returns its placeholder.</summary>
        public string Add(object value, NpgsqlDbType type)
        {
            List.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
            return "$" + List.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>Copies the parameters into a command.</summary>
        public void ApplyTo(NpgsqlCommand cmd) => cmd.Parameters.AddRange(List.ToArray());
    }

    /// <summary>
    /// The condition that <c>c.primary_key</c> is <paramref name="primaryKey"/> as stored: a composite key given with other
    /// spacing (<c>[1, "a"]</c>) also matches its compact stored form (<see cref="JsonText.KeyForms"/>).
    /// </summary>
    public static string KeyIs(string primaryKey, Parameters p) =>
        $"c.primary_key = ANY({p.Add(JsonText.KeyForms(primaryKey), NpgsqlDbType.Array | NpgsqlDbType.Text)})";

    /// <summary>The WHERE conditions of a filter (joined with AND; "true" when there are none).</summary>
    public static string Where(ChangeFilter f, Parameters p)
    {
        var conditions = new List<string>();
        if (f.Tables.Count > 0)
        {
            var names = f.Tables.Select(t => t.Name).ToArray();
            var schemas = f.Tables.Select(t => t.Schema).ToArray();
            var n = p.Add(names, NpgsqlDbType.Array | NpgsqlDbType.Text);
            var s = p.Add(schemas, NpgsqlDbType.Array | NpgsqlDbType.Text);
            // The first condition lets the (table, primary_key, committed_at) index narrow by name.
            conditions.Add($"""c."table" = ANY({n}) AND EXISTS (SELECT 1 FROM unnest({n}::text[], {s}::text[]) AS f(t, s) WHERE f.t = c."table" AND (f.s IS NULL OR f.s = c.schema))""");
        }
        if (f.PrimaryKey is not null)
            conditions.Add(KeyIs(f.PrimaryKey, p));
        if (f.Operations.Count > 0)
            conditions.Add($"c.operation = ANY({p.Add(f.Operations.Distinct().Select(o => o.ToStored()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)})");
        if (f.Since is { } since)
            conditions.Add($"c.committed_at >= {p.Add(since.ToUniversalTime(), NpgsqlDbType.TimestampTz)}");
        if (f.Until is { } until)
            conditions.Add($"c.committed_at < {p.Add(until.ToUniversalTime(), NpgsqlDbType.TimestampTz)}");
        if (f.TransactionId is { } xid)
            conditions.Add($"c.transaction_id = {p.Add(xid, NpgsqlDbType.Bigint)}");
        if (f.Source is not null)
            conditions.Add($"c.source = {p.Add(f.Source, NpgsqlDbType.Text)}");
        if (f.Database is not null)
            conditions.Add($"c.database = {p.Add(f.Database, NpgsqlDbType.Text)}");
        // The context index covers only changes with context (migration 2): say so, so the planner can use it.
        if (f.Context is { } ctx && ctx != "{}")
            conditions.Add($"c.context @> {p.Add(ctx, NpgsqlDbType.Jsonb)} AND c.context <> '{{}}'");
        if (f.Before is { } before && before != "{}")
            conditions.Add($"c.before @> {p.Add(before, NpgsqlDbType.Jsonb)}");
        if (f.After is { } after && after != "{}")
            conditions.Add($"c.after @> {p.Add(after, NpgsqlDbType.Jsonb)}");
        return conditions.Count == 0 ? "true" : string.Join("\n  AND ", conditions);
    }

    /// <summary>Conditions that place a table (by name, optionally schema) and optionally a source and a database.</summary>
    public static string Scope(TableName table, SourceScope? scope, Parameters p, string alias = "c", TableLineage? lineage = null)
    {
        if (lineage is not null)
        {
            // A renamed table: its names in their stretches of the WAL (the source is the lineage's own).
            var named = lineage.Sql(p, alias, hasPosition: alias != "b");
            return scope?.Database is { } db ? $"{named} AND {alias}.database = {p.Add(db, NpgsqlDbType.Text)}" : named;
        }
        var sb = new StringBuilder($"{alias}.\"table\" = {p.Add(table.Name, NpgsqlDbType.Text)}");
        if (table.Schema is not null) sb.Append(CultureInfo.InvariantCulture, $" AND {alias}.schema = {p.Add(table.Schema, NpgsqlDbType.Text)}");
        if (scope?.Source is { } source) sb.Append(CultureInfo.InvariantCulture, $" AND {alias}.source = {p.Add(source, NpgsqlDbType.Text)}");
        if (scope?.Database is { } database) sb.Append(CultureInfo.InvariantCulture, $" AND {alias}.database = {p.Add(database, NpgsqlDbType.Text)}");
        return sb.ToString();
    }

    // ---- changes ------------------------------------------------------------------------

    /// <summary>
    /// One page of the changes that match <paramref name="filter"/>, keyset-paginated on the id, with one change more than
    /// the page holds (it says that another page follows).
    /// </summary>
    /// <param name="filter">What the changes match.</param>
    /// <param name="page">Which page.</param>
    /// <param name="ids">Only ids from <c>From</c> up to, not including, <c>To</c> (a window of a windowed read, which
    /// replaces the cursor).</param>
    /// <param name="take">How many changes to read, instead of one more than the page holds.</param>
    public static (string Sql, Parameters Parameters) PageStatement(ChangeFilter filter, PageRequest page, (long From, long To)? ids = null,
        int? take = null)
    {
        var p = new Parameters();
        var where = Where(filter, p);
        var cursor = ids is var (from, to)
            ? $"\n  AND c.id >= {p.Add(from, NpgsqlDbType.Bigint)} AND c.id < {p.Add(to, NpgsqlDbType.Bigint)}"
            : page.Cursor is { } c
            ? $"\n  AND c.id {(page.OldestFirst ? ">" : "<")} {p.Add(c, NpgsqlDbType.Bigint)}"
            : "";
        var limit = p.Add(take ?? page.Limit + 1, NpgsqlDbType.Integer);
        return ($"""
            SELECT {Columns}
            FROM hindsight.changes c
            WHERE {where}{cursor}
            ORDER BY c.id {(page.OldestFirst ? "ASC" : "DESC")}
            LIMIT {limit}
            """, p);
    }

    /// <summary>
    /// Whether the filter has a JSON containment condition (context, before or after). Such a condition is answered by a
    /// GIN index, which returns every match of every partition in no order: a page of them is read in id windows.
    /// </summary>
    public static bool HasContainment(ChangeFilter f) =>
        f.Context is { } ctx && ctx != "{}" || f.Before is { } b && b != "{}" || f.After is { } a && a != "{}";

    /// <summary>The lowest and highest stored ids (null when the store holds no change): one index probe per partition each.</summary>
    public const string IdRange = "SELECT min(c.id), max(c.id) FROM hindsight.changes c";

    /// <summary>The names of the sources the store holds changes of (<see cref="StoredSources"/>).</summary>
    public const string Sources = StoredSources + "\nSELECT s.source FROM stored_sources s WHERE s.source IS NOT NULL";

    // ---- history ------------------------------------------------------------------------

    /// <summary>The order of a row's history: by commit, then by place within its transaction.</summary>
    private const string HistoryOrder = "committed_at, commit_lsn, ordinal";

    /// <summary>
    /// The history statement and its parameters (the query benchmark EXPLAINs this very statement): a row's changes and
    /// its table's TRUNCATEs, oldest first; with <paramref name="limit"/>, only that many from the chosen end, in that
    /// end's order (newest first from the newest end).
    /// </summary>
    public static (string Sql, Parameters Parameters) HistoryStatement(TableName table, string primaryKey, SourceScope? sourceScope,
        int? limit = null, bool newestFirst = false, TableLineage? lineage = null)
    {
        var p = new Parameters();
        var scope = Scope(table, sourceScope, p, lineage: lineage);
        // Two index ranges of (table, primary_key, committed_at): the row's changes, and the table's TRUNCATEs.
        if (limit is not { } n)
            return ($"""
                SELECT {Columns} FROM hindsight.changes c WHERE {scope} AND {KeyIs(primaryKey, p)}
                UNION ALL
                SELECT {Columns} FROM hindsight.changes c WHERE {scope} AND c.primary_key IS NULL AND c.operation = 'TRUNCATE'
                ORDER BY {HistoryOrder}
                """, p);
        // Each range limited on its own, so each is read from the chosen end of the index and stops after n rows. One range
        // per spelling of the key: with `= ANY(array)` on its second column the index no longer returns rows in order
        // (PostgreSQL before 17), and every version of the row would be read and sorted.
        var order = newestFirst ? "committed_at DESC, commit_lsn DESC, ordinal DESC" : HistoryOrder;
        var take = p.Add(n, NpgsqlDbType.Integer);
        var ranges = JsonText.KeyForms(primaryKey).Select(form =>
            $"(SELECT {Columns} FROM hindsight.changes c WHERE {scope} AND c.primary_key = {p.Add(form, NpgsqlDbType.Text)} ORDER BY {order} LIMIT {take})");
        return ($"""
            {string.Join("\nUNION ALL\n", ranges)}
            UNION ALL
            (SELECT {Columns} FROM hindsight.changes c WHERE {scope} AND c.primary_key IS NULL AND c.operation = 'TRUNCATE'
             ORDER BY {order} LIMIT {take})
            ORDER BY {order} LIMIT {take}
            """, p);
    }

    /// <summary>
    /// One place (source, schema) other than <paramref name="place"/> where the store holds the key in a table so named,
    /// if there is one.
    /// </summary>
    public static (string Sql, Parameters Parameters) OtherPlaceStatement(TableName table, string primaryKey, SourceScope? sourceScope,
        (string Source, string Schema) place)
    {
        var p = new Parameters();
        var scope = Scope(table, sourceScope, p);
        var key = KeyIs(primaryKey, p);
        var d = p.Add(place.Source, NpgsqlDbType.Text);
        var sch = p.Add(place.Schema, NpgsqlDbType.Text);
        return ($"""
            SELECT c.source, c.schema FROM hindsight.changes c
            WHERE {scope} AND {key} AND (c.source <> {d} OR c.schema <> {sch})
            LIMIT 1
            """, p);
    }

    // ---- as-of --------------------------------------------------------------------------

    /// <summary>
    /// Keyless row changes that count at the cut and no later counted TRUNCATE wiped out: one such table, if any (it cannot
    /// be rebuilt row by row).
    /// </summary>
    public static (string Sql, Parameters Parameters) KeylessStatement(TableName table, SourceScope? sourceScope, AsOfCut cut,
        TableLineage? lineage = null)
    {
        var p = new Parameters();
        var scope = Scope(table, sourceScope, p, lineage: lineage);
        var at = cut.Bind(p);
        return ($"""
            SELECT c.schema, c."table" FROM hindsight.changes c
            WHERE {scope} AND c.primary_key IS NULL AND c.operation <> 'TRUNCATE' AND {at.Counts("c")}
              AND NOT EXISTS (
                SELECT 1 FROM hindsight.changes t
                WHERE t."table" = c."table" AND t.schema = c.schema AND t.source = c.source
                  AND t.primary_key IS NULL AND t.operation = 'TRUNCATE' AND {at.Counts("t")}
                  AND {at.Position("t")} > {at.Position("c")})
            LIMIT 1
            """, p);
    }

    /// <summary>
    /// The settings of the transaction that runs <see cref="AsOfStatement"/>. Parallel workers would each recompute
    /// <c>latest</c> in full (EXPLAIN: loops=3), and a whole-table estimate led the planner to merge-join against every
    /// stored change: the image is fetched per survivor instead (OFFSET 0 keeps the lateral lookup a nested loop over the
    /// primary key, in id order for heap locality). JIT is off: the statement's estimated cost passes
    /// jit_optimize_above_cost, and compiling it took ~0.4 s of a ~1.3 s execution on a 1,000,000-change store while the
    /// plan is index scans and sorts that JIT does not speed up. BENCHMARKS.md, "Query".
    /// </summary>
    public const string AsOfSettings = "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off";

    /// <summary>Where a baseline's barrier sorts among changes with the baseline's commit LSN: before all of its SNAPSHOT rows.</summary>
    private const int BaselineBarrierOrdinal = int.MinValue;

    /// <summary>Baselines as barrier rows, with the column names of changes (so <see cref="AsOfCut.Sql"/> applies to them).</summary>
    private static readonly string BaselineRows =
        $"SELECT source, database, schema, \"table\", taken_at AS committed_at, lsn AS commit_lsn, {BaselineBarrierOrdinal} AS ordinal, ended_at FROM hindsight.baselines";

    /// <summary>The baselines that count at the cut, as barriers beside the TRUNCATEs (a UNION ALL branch of <c>trunc</c>).</summary>
    private static string BaselineBarriers(TableName table, SourceScope? sourceScope, Parameters p, AsOfCut.Sql at, TableLineage? lineage = null) =>
        $"\n          UNION ALL\n          SELECT b.source, b.schema, b.committed_at, b.commit_lsn, b.ordinal FROM ({BaselineRows}) b" +
        $"\n          WHERE {Scope(table, sourceScope, p, "b", lineage)} AND {at.Counts("b")}";

    /// <summary>
    /// The CTE <c>trunc</c>: the newest barrier per source (and schema, with <paramref name="tSchema"/> ", t.schema") — a
    /// TRUNCATE, or a baseline (setup --snapshot), which replaces whatever the store knew of the table before it; its
    /// SNAPSHOT rows (ordinals -1, -2, …) sort after its barrier. Materialized when a subquery per row reads it, which
    /// would otherwise compute it again for each.
    /// </summary>
    private static string Trunc(string scope, AsOfCut.Sql at, string baselines, string tSchema, bool materialized) =>
        $"""
        trunc AS {(materialized ? "MATERIALIZED " : "")}(
                SELECT DISTINCT ON (t.source{tSchema}) t.source, t.schema, t.committed_at, t.commit_lsn, t.ordinal
                FROM (SELECT c.source, c.schema, c.committed_at, c.commit_lsn, c.ordinal
                      FROM hindsight.changes c
                      WHERE {scope} AND c.primary_key IS NULL AND c.operation = 'TRUNCATE' AND {at.Counts("c")}{baselines}) t
                ORDER BY t.source{tSchema}, {at.NewestFirst("t")}
            )
        """;

    /// <summary>The columns a key's newest change is chosen with (narrow: the image is fetched only for the survivors).</summary>
    private const string LatestColumns = "c.id, c.source, c.database, c.schema, c.primary_key, c.operation, c.committed_at, c.commit_lsn, c.ordinal";

    /// <summary>An as-of row's columns, of a survivor <c>l</c> and its image <c>ch</c>, in the order AuditTrail reads them.</summary>
    private const string AsOfRowColumns = "l.source, l.schema, l.primary_key, ch.after, l.id, l.committed_at, l.database, l.commit_lsn, ch.position";

    /// <summary>
    /// Each survivor's image, by id and commit time: in a partitioned store the commit time leads the lookup to the one
    /// partition that holds the change (the primary key is (id, committed_at)); by id alone it would probe every
    /// partition. OFFSET 0 keeps it a nested loop over the primary key.
    /// </summary>
    private const string ImageLookup =
        """
        CROSS JOIN LATERAL (SELECT x.after::text AS after, x.position FROM hindsight.changes x
                                WHERE x.id = l.id AND x.committed_at = l.committed_at OFFSET 0) ch
        """;

    /// <summary>The as-of statement (one set-based query) and its parameters; the query benchmark EXPLAINs this very statement.</summary>
    public static (string Sql, Parameters Parameters) AsOfStatement(TableName table, AsOfCut cut, string? primaryKey, SourceScope? sourceScope,
        bool withBaselines = true, AsOfPage? page = null, TableLineage? lineage = null)
    {
        if (page is not null && primaryKey is null && lineage is null)
            return AsOfPageStatement(table, cut, sourceScope, withBaselines, page);
        var p = new Parameters();
        var scope = Scope(table, sourceScope, p, lineage: lineage);
        var at = cut.Bind(p);
        var baselines = withBaselines ? BaselineBarriers(table, sourceScope, p, at, lineage) : "";
        var key = primaryKey is null ? "" : $" AND {KeyIs(primaryKey, p)}";
        if (page?.AfterKey is { } after) key += $" AND c.primary_key > {p.Add(after, NpgsqlDbType.Text)}";
        // A whole table: the survivors in id order (heap locality for the image lookups). A page of a renamed table (whose
        // names, each in its stretch of the WAL, no index walks in key order; others go by AsOfPageStatement): the
        // survivors in key order, stopping after the page (one more row tells whether another page follows).
        var survivors = page is null ? "ORDER BY l.id OFFSET 0" : $"ORDER BY l.primary_key LIMIT {p.Add(page.Limit + 1, NpgsqlDbType.Integer)}";
        // latest: the newest change of each key (narrow rows: the image is fetched only for the survivors).
        // A renamed table's rows are one table's whatever schema they were stored under (it may have moved).
        var (tSchema, cSchema, joinSchema) = lineage is null ? (", t.schema", ", c.schema", " AND t.schema = l.schema") : ("", "", "");
        var sql = $"""
            WITH {Trunc(scope, at, baselines, tSchema, materialized: false)}, latest AS (
                SELECT DISTINCT ON (c.primary_key, c.source{cSchema}) {LatestColumns}
                FROM hindsight.changes c
                WHERE {scope} AND c.primary_key IS NOT NULL AND {at.Counts("c")}{key}
                ORDER BY c.primary_key, c.source{cSchema}, {at.NewestFirst("c")}
            )
            SELECT {AsOfRowColumns}
            FROM (SELECT l.* FROM latest l
                  LEFT JOIN trunc t ON t.source = l.source{joinSchema}
                  WHERE l.operation <> 'DELETE'
                    AND (t.source IS NULL OR {at.Position("l")} > {at.Position("t")})
                  {survivors}) l
            {ImageLookup}
            ORDER BY l.primary_key
            """;
        return (sql, p);
    }

    /// <summary>
    /// One page of a table at the cut, read a batch of keys at a time (the query benchmark EXPLAINs this very statement).
    /// DISTINCT ON over the whole table would order every stored key of every partition before it could stop: no
    /// partition's index gives (key, source, schema, newest first) across partitions. Instead each batch is the next
    /// distinct keys in key order (the partitions' key indexes merged, read only as far as the batch), and the newest
    /// counted change of each is chosen among the changes in that key range alone; the next batch follows only while the
    /// page is not full (keys deleted before the cut leave it short). The cost follows the page, not the store's size.
    /// The recursive walk is lazy, so the LIMIT stops it; nothing between them may need all its rows (a sort, or a hash
    /// built from it): the TRUNCATE check is a scalar subquery per row, and the page's order is the walk's.
    /// </summary>
    private static (string Sql, Parameters Parameters) AsOfPageStatement(TableName table, AsOfCut cut, SourceScope? sourceScope,
        bool withBaselines, AsOfPage page)
    {
        var p = new Parameters();
        var scope = Scope(table, sourceScope, p);
        var at = cut.Bind(p);
        var baselines = withBaselines ? BaselineBarriers(table, sourceScope, p, at) : "";
        // A batch: a quarter more keys than the page, so that a few deleted ones do not take a second batch.
        var batch = p.Add(page.Limit + 1 + (page.Limit + 1) / 4 + 8, NpgsqlDbType.Integer);
        // Each batch is the keys in (lo, hi]; the first one's lo is the page's start, or '' (the lowest text) kept.
        var start = p.Add(page.AfterKey ?? "", NpgsqlDbType.Text);
        var startKept = page.AfterKey is null ? "true" : "false";
        string Through(string after, string kept) =>
            $"""
            (SELECT max(x.k) FROM (SELECT DISTINCT c.primary_key AS k FROM hindsight.changes c
                                   WHERE {scope} AND c.primary_key >= {after} AND ({kept} OR c.primary_key <> {after}) AND {at.Counts("c")}
                                   ORDER BY 1 LIMIT {batch}) x)
            """;
        var sql = $"""
            WITH RECURSIVE {Trunc(scope, at, baselines, ", t.schema", materialized: true)}, batches(lo, kept, hi) AS (
                SELECT {start}::text COLLATE "C", {startKept}, {Through(start, startKept)}
                UNION ALL
                SELECT b.hi, false, {Through("b.hi", "false")}
                FROM batches b WHERE b.hi IS NOT NULL
            )
            SELECT {AsOfRowColumns}
            FROM (SELECT n.* FROM batches b
                  CROSS JOIN LATERAL (
                      SELECT DISTINCT ON (c.primary_key, c.source, c.schema) {LatestColumns}
                      FROM hindsight.changes c
                      WHERE {scope} AND c.primary_key >= b.lo AND (b.kept OR c.primary_key <> b.lo) AND c.primary_key <= b.hi
                        AND {at.Counts("c")}
                      ORDER BY c.primary_key, c.source, c.schema, {at.NewestFirst("c")}) n
                  WHERE b.hi IS NOT NULL AND n.operation <> 'DELETE'
                    AND NOT coalesce((SELECT {at.Position("t")} >= {at.Position("n")} FROM trunc t
                                      WHERE t.source = n.source AND t.schema = n.schema), false)
                  LIMIT {p.Add(page.Limit + 1, NpgsqlDbType.Integer)}) l
            {ImageLookup}
            ORDER BY l.primary_key, l.source, l.schema
            """;
        return (sql, p);
    }

    /// <summary>
    /// Whether a baseline (<c>setup --snapshot</c>) of the table counts at the cut and its slot was not dropped before the
    /// cut's moment (teardown ends a baseline).
    /// </summary>
    public static (string Sql, Parameters Parameters) BaselineCoversStatement(TableName table, AsOfCut cut, SourceScope? sourceScope)
    {
        var p = new Parameters();
        var at = cut.Bind(p);
        var moment = p.Add(cut.At.ToUniversalTime(), NpgsqlDbType.TimestampTz);
        return ($"""
            SELECT EXISTS (SELECT 1 FROM ({BaselineRows}) b
                           WHERE {Scope(table, sourceScope, p, "b")} AND {at.Counts("b")} AND (b.ended_at IS NULL OR b.ended_at > {moment}))
            """, p);
    }

    /// <summary>
    /// The commit time of the first stored commit (lowest commit LSN) of the scope's source, or the earliest over every
    /// stored source (of the scope's database): one probe of the (source, commit_lsn, ordinal) key index per source.
    /// (min(committed_at) would read every stored change: the committed_at index is BRIN, which cannot answer min.)
    /// </summary>
    public static (string Sql, Parameters Parameters) TrackingSinceStatement(SourceScope? sourceScope)
    {
        var p = new Parameters();
        var ofDatabase = sourceScope?.Database is { } database ? $" AND c.database = {p.Add(database, NpgsqlDbType.Text)}" : "";
        string First(string s) =>
            $"SELECT c.committed_at FROM hindsight.changes c WHERE c.source = {s}{ofDatabase} ORDER BY c.commit_lsn, c.ordinal LIMIT 1";
        var sql = sourceScope?.Source is { } source
            ? First(p.Add(source, NpgsqlDbType.Text))
            : $"{StoredSources}\nSELECT min(f.committed_at) FROM stored_sources d CROSS JOIN LATERAL ({First("d.source")}) f";
        return (sql, p);
    }
}
