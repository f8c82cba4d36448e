using Hindsight.Model;
using Hindsight.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Store;

/// <summary>
/// Which published columns the stored images lack, read from the source catalog and kept in
/// <c>hindsight.untracked_columns</c> (migration 8), so that as-of can say so without reaching the source.
/// </summary>
/// <remarks>
/// pgoutput sends no generated column before PostgreSQL 18. From 18 on, a publication with
/// <c>publish_generated_columns = stored</c> (what setup creates) sends stored generated columns like any other;
/// virtual generated columns are never sent. Setup and every worker start replace a source's rows with what the
/// catalog says then, so the table follows schema changes made between them.
/// </remarks>
internal static class UntrackedColumnStore
{
    /// <summary>
    /// The generated columns of the publication's tables that pgoutput does not send, ordered by table and column number.
    /// </summary>
    public static async Task<List<UntrackedColumn>> ReadSourceAsync(NpgsqlConnection source, NpgsqlTransaction? tx, string publication,
        CancellationToken ct)
    {
        var versionNum = source.PostgreSqlVersion.Major * 10000;
        // Before 18 no generated column is sent; from 18 on stored ones are when the publication says so.
        var unpublished = versionNum >= PgFeatures.PublishGeneratedColumnsSince
            ? "AND NOT (a.attgenerated = 's' AND p.pubgencols = 's')"
            : "";
        var sql = $"""
            SELECT pt.schemaname::text, pt.tablename::text, a.attname::text
            FROM pg_publication p
            JOIN pg_publication_tables pt ON pt.pubname = p.pubname
            JOIN pg_namespace n ON n.nspname = pt.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
            WHERE p.pubname = $1 AND pt.schemaname <> '{StoreMigrations.Schema}' {unpublished}
            ORDER BY 1, 2, a.attnum
            """;
        var cmd = new NpgsqlCommand(sql, source, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(publication);
        var list = new List<UntrackedColumn>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            list.Add(new UntrackedColumn(r.GetString(0), r.GetString(1), r.GetString(2), UntrackedReason.Generated));
        return list;
    }

    /// <summary>Whether the store has <c>hindsight.untracked_columns</c> (migration 8).</summary>
    public static Task<bool> ExistsAsync(NpgsqlConnection store, NpgsqlTransaction? tx, CancellationToken ct) =>
        StoreMigrations.HasTableAsync(store, tx, "untracked_columns", ct);

    /// <summary>
    /// Replaces what the store knows of source <paramref name="source"/>'s untracked columns with <paramref name="columns"/>,
    /// in one transaction. Does nothing on a store without the table (not migrated yet).
    /// </summary>
    public static async Task ReplaceAsync(NpgsqlDataSource store, string source, IReadOnlyList<UntrackedColumn> columns, CancellationToken ct)
    {
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        if (!await ExistsAsync(conn, tx, ct).ConfigureAwait(false)) return;
        // Columns no longer untracked go; new ones come; the rest stay as they are (recorded_at: since when).
        string[] schemas = [.. columns.Select(c => c.Schema)], tables = [.. columns.Select(c => c.Table)],
            names = [.. columns.Select(c => c.Column)], reasons = [.. columns.Select(c => UntrackedReasons.Name(c.Reason))];
        const string delete = """
            DELETE FROM hindsight.untracked_columns u
            WHERE u.source = $1
              AND (u.schema, u."table", u."column", u.reason) NOT IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]))
            """;
        const string insert = """
            INSERT INTO hindsight.untracked_columns (source, schema, "table", "column", reason)
            SELECT $1, s, t, c, r FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS x(s, t, c, r)
            ON CONFLICT (source, schema, "table", "column") DO NOTHING
            """;
        foreach (var sql in new[] { delete, insert })
        {
            var cmd = new NpgsqlCommand(sql, conn, tx);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.Add(new NpgsqlParameter { Value = source, NpgsqlDbType = NpgsqlDbType.Text });
            foreach (var values in new[] { schemas, tables, names, reasons })
                cmd.Parameters.Add(new NpgsqlParameter { Value = values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Reads the source catalog and records it in the store (setup, worker start).</summary>
    public static async Task<List<UntrackedColumn>> RecordAsync(NpgsqlConnection source, NpgsqlDataSource store, string sourceName,
        string publication, CancellationToken ct)
    {
        var columns = await ReadSourceAsync(source, null, publication, ct).ConfigureAwait(false);
        await ReplaceAsync(store, sourceName, columns, ct).ConfigureAwait(false);
        return columns;
    }
}
