using Hindsight.Capture.Rendering;
using Hindsight.Postgres;
using Npgsql;

namespace Hindsight.Capture.Baseline;

/// <summary>A published table as a baseline copies it: its description (as pgoutput would send it) and its COPY statement.</summary>
/// <param name="Relation">Columns, types and primary key, built like <see cref="RelationCatalog"/> builds them.</param>
/// <param name="CopySql">The <c>COPY (SELECT …) TO STDOUT</c> of its published columns, identifiers quoted.</param>
internal sealed record PublishedTable(RelationInfo Relation, string CopySql);

/// <summary>
/// The tables and columns a publication sends, read from <c>pg_publication_tables</c>: with
/// <c>publish_via_partition_root</c> a partitioned table appears once, as its root, and its changes are recorded under
/// it — so its baseline is read through the root too. Only the columns pgoutput sends are copied: not dropped, not
/// generated (from PostgreSQL 18: stored generated ones when the publication sends them), and within the publication's
/// column list where it has one (PostgreSQL 15+).
/// </summary>
internal static class PublishedTables
{
    /// <summary>Reads every table of <paramref name="publication"/> (never the store's own schema).</summary>
    public static async Task<List<PublishedTable>> ReadAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string publication,
        PgTypeCatalog types, CancellationToken ct)
    {
        var columnLists = conn.PostgreSqlVersion.Major >= 15;
        // From PostgreSQL 18, stored generated columns are sent when the publication says so (publish_generated_columns).
        var sent = conn.PostgreSqlVersion.Major * 10000 >= Postgres.PgFeatures.PublishGeneratedColumnsSince
            ? "(a.attgenerated = '' OR (a.attgenerated = 's' AND (SELECT p.pubgencols = 's' FROM pg_publication p WHERE p.pubname = pt.pubname)))"
            : "a.attgenerated = ''";
        var sql = $"""
            SELECT c.oid, pt.schemaname::text, pt.tablename::text, c.relkind::text,
                   array(SELECT a.attname::text FROM pg_attribute a
                         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND {sent}
                           {(columnLists ? "AND (pt.attnames IS NULL OR a.attname = ANY(pt.attnames))" : "")}
                         ORDER BY a.attnum),
                   array(SELECT a.atttypid FROM pg_attribute a
                         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND {sent}
                           {(columnLists ? "AND (pt.attnames IS NULL OR a.attname = ANY(pt.attnames))" : "")}
                         ORDER BY a.attnum),
                   array({PrimaryKeySql.ColumnNames("c.oid")}),
                   c.relreplident::text
            FROM pg_publication_tables pt
            JOIN pg_namespace n ON n.nspname = pt.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
            WHERE pt.pubname = $1 AND pt.schemaname <> 'hindsight'
            ORDER BY 2, 3
            """;
        var rows = new List<(uint Oid, string Schema, string Table, char Kind, string[] Columns, uint[] Types, string[] Key, char Identity)>();
        var cmd = new NpgsqlCommand(sql, conn, tx);
        await using (cmd.ConfigureAwait(false))
        {
            cmd.Parameters.AddWithValue(publication);
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
                rows.Add((r.GetFieldValue<uint>(0), r.GetString(1), r.GetString(2), r.GetString(3)[0],
                    r.GetFieldValue<string[]>(4), r.GetFieldValue<uint[]>(5), r.GetFieldValue<string[]>(6), r.GetString(7)[0]));
        }

        var tables = new List<PublishedTable>(rows.Count);
        foreach (var t in rows)
        {
            var columns = new RelationColumn[t.Columns.Length];
            for (var i = 0; i < columns.Length; i++) columns[i] = new RelationColumn(t.Columns[i], await types.ResolveAsync(t.Types[i], ct).ConfigureAwait(false));
            // A key column left out by a column list leaves the table without a usable key, as in capture.
            var key = t.Key.Select(k => Array.IndexOf(t.Columns, k)).ToArray();
            if (key.Any(i => i < 0)) key = [];
            var relation = new RelationInfo(t.Oid, t.Schema, t.Table, columns, key, t.Identity == 'f');
            // ONLY: an inheritance child is published (and copied) on its own. A partitioned root has no rows of its
            // own, so it is read whole: its partitions' rows are recorded under it.
            var from = (t.Kind == 'p' ? "" : "ONLY ") + PgNames.Quote(t.Schema) + "." + PgNames.Quote(t.Table);
            var list = columns.Length == 0 ? "" : string.Join(", ", t.Columns.Select(PgNames.Quote));
            tables.Add(new PublishedTable(relation, $"COPY (SELECT {list} FROM {from}) TO STDOUT"));
        }
        return tables;
    }
}
