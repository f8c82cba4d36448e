
using Microsoft.EntityFrameworkCore.Query.SqlExpressions;

namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>
/// The SQL of one temporal table: the versions of a table's rows, rebuilt from the trail, as a derived table with the
/// table's own columns (<c>jsonb_populate_record</c> of each stored image with the table's row type, so every column has
/// its name and type, whatever the entity maps) and the period columns.
/// </summary>
/// <remarks>
/// <para>A version is a stored CREATE, UPDATE or SNAPSHOT of a key. It begins at its commit and ends at the key's next
/// change, or at the next TRUNCATE or baseline of its table (both replace what the trail knew), whichever comes first;
/// changes are ordered by (committed_at, commit_lsn, ordinal), the order of the trail's record index. Only the versions'
/// positions are read to find the periods; an image is read for a version that passes the operator's condition, by its
/// id and commit time (which names the one partition of a partitioned store).</para>
/// <para>Redacted values (<c>redacted:</c> and 16 hex digits) come back as NULL: the trail holds a digest, not the
/// value, and the digest is not a value of the column's type.</para>
/// </remarks>
internal sealed class TemporalSql(HindsightTemporalOptions options, string? schema, string table, TemporalTable temporal,
    IReadOnlyList<SqlExpression>? keyValues)
{
    /// <summary>Text, or an expression for the generator to write (a parameter).</summary>
    public readonly record struct Part(string? Text, SqlExpression? Expression);

    /// <summary>What <c>RequireCompleteHistory</c> raises: PostgreSQL's error for a bad boolean, carrying this text.</summary>
    public const string IncompleteMarker = "hindsight: incomplete history";

    private readonly List<Part> _parts = [];

    // The image without its redacted values (a digest is no value of the column's type): rebuilt only when it has one.
    private const string WithoutRedacted =
        """
        CASE WHEN jsonb_path_exists(img.after, '$.* ? (@ starts with "redacted:")')
                     THEN (SELECT jsonb_object_agg(f.k, f.v) FROM jsonb_each(img.after) f(k, v)
                           WHERE NOT (jsonb_typeof(f.v) = 'string' AND (f.v #>> '{}') ~ '^redacted:[0-9a-f]{16}$'))
                     ELSE img.after END
        """;

    public IReadOnlyList<Part> Parts()
    {
        _parts.Clear();
        var store = Ident(options.StoreSchema);
        var tableRef = schema is null ? Ident(table) : $"{Ident(schema)}.{Ident(table)}";
        // The table's schema as the trail names it: given by the model, or where search_path finds the table.
        var schemaName = schema is null
            ? $"(SELECT n.nspname::text FROM pg_catalog.pg_class k JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = {Literal(tableRef)}::regclass)"
            : Literal(schema);
        // The source's rows: the one named, or every source of this database's name.
        string OfSource(string a) => options.Source is { } source ? $"{a}.source = {Literal(source)}" : $"{a}.database = current_database()";
        string Scope(string a) => $"{a}.\"table\" = {Literal(table)} AND {a}.schema = {schemaName} AND {OfSource(a)}";

        // Every version of the rows read (TemporalAll) is returned but for DELETEs and versions with no duration: the images
        // are read with the versions' positions, rather than looked up again one by one for nearly all of them.
        var inline = temporal.Operation == TemporalOperation.All;
        string Images(string a) => inline ? $", {a}.after, {a}.context" : "";
        Text($"""
            WITH hs_barriers AS MATERIALIZED (
                SELECT c.source, c.schema, c.committed_at, c.commit_lsn, c.ordinal FROM {store}.changes c
                WHERE {Scope("c")} AND c.primary_key IS NULL AND c.operation = 'TRUNCATE'
                UNION ALL
                SELECT b.source, b.schema, b.taken_at, b.lsn, -2147483648 FROM {store}.baselines b
                WHERE {Scope("b")}
            ), hs_versions AS (
                SELECT c.id, c.source, c.schema, c.operation, c.committed_at, c.commit_lsn, c.ordinal{Images("c")},
                       lead(c.committed_at) OVER w AS next_at, lead(c.commit_lsn) OVER w AS next_lsn, lead(c.ordinal) OVER w AS next_ordinal
                FROM {store}.changes c
                WHERE {Scope("c")} AND c.primary_key IS NOT NULL
            """);
        // The key asked for, in its stored form: a one-column key's text output; a composite key of integers as the
        // compact JSON array capture writes ([7,12]).
        if (keyValues is [var single])
        {
            Text(" AND c.primary_key = (");
            Expr(single);
            Text(")::text");
        }
        else if (keyValues is { Count: > 1 })
        {
            Text(" AND c.primary_key = '[' || ");
            for (var i = 0; i < keyValues.Count; i++)
            {
                if (i > 0) Text(" || ',' || ");
                Text("(");
                Expr(keyValues[i]);
                Text(")::text");
            }
            Text(" || ']'");
        }
        Text($"""

                WINDOW w AS (PARTITION BY c.source, c.schema, c.primary_key ORDER BY c.committed_at, c.commit_lsn, c.ordinal)
            ), hs_periods AS (
                SELECT v.id, v.source, v.committed_at AS period_start, v.commit_lsn AS start_lsn{Images("v")},
                       CASE WHEN e.barrier THEN e.committed_at ELSE coalesce(v.next_at, 'infinity') END AS period_end,
                       CASE WHEN e.barrier THEN e.commit_lsn ELSE v.next_lsn END AS end_lsn
                FROM hs_versions v
                LEFT JOIN LATERAL (
                    SELECT t.committed_at, t.commit_lsn,
                           v.next_at IS NULL OR (t.committed_at, t.commit_lsn, t.ordinal) < (v.next_at, v.next_lsn, v.next_ordinal) AS barrier
                    FROM hs_barriers t
                    WHERE (SELECT count(*) > 0 FROM hs_barriers) AND t.source = v.source AND t.schema = v.schema
                      AND (t.committed_at, t.commit_lsn, t.ordinal) > (v.committed_at, v.commit_lsn, v.ordinal)
                    ORDER BY t.committed_at, t.commit_lsn, t.ordinal LIMIT 1) e ON true
                WHERE v.operation <> 'DELETE'
            )
            """);
        if (temporal.Operation == TemporalOperation.AsOfTransaction)
        {
            // The transaction's commit, in its source: changes count up to its commit LSN.
            Text($", hs_cut AS MATERIALIZED (SELECT c.source, max(c.commit_lsn) AS lsn, max(c.committed_at) AS committed_at FROM {store}.changes c WHERE c.transaction_id = ");
            Expr(temporal.From!);
            Text($" AND {OfSource("c")} GROUP BY c.source)");
        }
        // The versions that pass the operator's condition, in id order (the image lookups then walk the heap forward).
        Text($"""

            SELECT r.*, p.period_start AS "{TemporalTable.PeriodStart}", p.period_end AS "{TemporalTable.PeriodEnd}"
            FROM (SELECT p.* FROM hs_periods p WHERE p.period_start < p.period_end
            """);
        Condition();
        var image = inline
            ? ") p\nCROSS JOIN LATERAL (SELECT p.after, p.context) img"
            : $" ORDER BY p.id OFFSET 0) p\nCROSS JOIN LATERAL (SELECT x.after, x.context FROM {store}.changes x WHERE x.id = p.id AND x.committed_at = p.period_start OFFSET 0) img";
        Text($"""
            {image}
            CROSS JOIN LATERAL jsonb_populate_record(NULL::{tableRef}, {WithoutRedacted}) r
            WHERE true
            """);
        if (temporal.WrittenBy is not null)
        {
            Text(" AND img.context @> (");
            Expr(temporal.WrittenBy);
            Text(")::jsonb");
        }
        if (options.RequireCompleteHistory) Completeness(store, Scope);
        return _parts;
    }

    // The operator's condition on the period [p.period_start, p.period_end), with SQL Server's boundaries.
    private void Condition()
    {
        switch (temporal.Operation)
        {
            case TemporalOperation.All:
                break;
            case TemporalOperation.AsOf:
                Text(" AND p.period_start <= "); Expr(temporal.From!); Text(" AND p.period_end > "); Expr(temporal.From!);
                break;
            case TemporalOperation.FromTo:
                Text(" AND p.period_start < "); Expr(temporal.To!); Text(" AND p.period_end > "); Expr(temporal.From!);
                break;
            case TemporalOperation.Between:
                Text(" AND p.period_start <= "); Expr(temporal.To!); Text(" AND p.period_end > "); Expr(temporal.From!);
                break;
            case TemporalOperation.ContainedIn:
                Text(" AND p.period_start >= "); Expr(temporal.From!); Text(" AND p.period_end <= "); Expr(temporal.To!);
                break;
            case TemporalOperation.AsOfTransaction:
                Text(" AND EXISTS (SELECT 1 FROM hs_cut k WHERE k.source = p.source AND p.start_lsn <= k.lsn AND (p.end_lsn IS NULL OR p.end_lsn > k.lsn))");
                break;
            default:
                throw new InvalidOperationException($"Unknown temporal operation {temporal.Operation}.");
        }
    }

    /// <summary>
    /// With RequireCompleteHistory: the trail knows the whole table from a moment on once a TRUNCATE or a baseline of it
    /// counts, or once it was created while tracked. The first moment asked for (AsOf's moment, a range's start, the
    /// table's first stored change for All) must be such a moment, else the query fails. The check is a one-time filter
    /// (an uncorrelated scalar subquery), evaluated before any row is read, so an empty result fails too. Its failure is
    /// a cast error whose text the command interceptor turns into HindsightIncompleteHistoryException.
    /// </summary>
    private void Completeness(string store, Func<string, string> scope)
    {
        Text("\n  AND (SELECT CASE WHEN m.at IS NULL OR EXISTS (SELECT 1 FROM hs_barriers t WHERE t.committed_at <= m.at)");
        Text($" OR EXISTS (SELECT 1 FROM {store}.schema_changes s WHERE {scope("s")} AND s.command_tag = 'CREATE TABLE' AND s.committed_at <= m.at)");
        Text($" THEN true ELSE ({Literal(IncompleteMarker + ": ")} || {Literal(schema is null ? table : schema + "." + table)} || ' at ' || m.at::text || ' in ' || current_database())::boolean END FROM (SELECT ");
        switch (temporal.Operation)
        {
            case TemporalOperation.All:
                Text($"(SELECT min(c.committed_at) FROM {store}.changes c WHERE {scope("c")})");
                break;
            case TemporalOperation.AsOfTransaction:
                Text("(SELECT min(k.committed_at) FROM hs_cut k)");
                break;
            default:
                Text("("); Expr(temporal.From!); Text(")::timestamptz");
                break;
        }
        Text(" AS at) m)");
    }

    private void Text(string text) => _parts.Add(new Part(text, null));

    private void Expr(SqlExpression expression) => _parts.Add(new Part(null, expression));

    private static string Ident(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
