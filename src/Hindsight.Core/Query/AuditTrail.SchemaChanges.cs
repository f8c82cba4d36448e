using System.Globalization;
using System.Text;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

// Schema changes: what migrations did to tracked tables, with their statement and context.
public sealed partial class AuditTrail
{
    /// <summary>
    /// The schema changes that match <paramref name="filter"/>, newest first, each with what it did compared with the
    /// table's previous recorded state (so a table filter names a table by any name it had: its renames are followed).
    /// Empty on a store that records none (older than this version, or set up without a superuser).
    /// </summary>
    /// <param name="filter">Which changes; null for the newest of every table.</param>
    /// <param name="ct">Cancels the query.</param>
    public async Task<IReadOnlyList<SchemaChange>> SchemaChangesAsync(SchemaChangeFilter? filter = null, CancellationToken ct = default)
    {
        filter ??= new SchemaChangeFilter();
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        if (!await HasSchemaChangesAsync(conn, ct).ConfigureAwait(false)) return [];

        var p = new ChangeSql.Parameters();
        var scope = new List<string>();
        if (filter.Source is { } source) scope.Add($"s.source = {p.Add(source, NpgsqlDbType.Text)}");
        if (filter.Database is { } database) scope.Add($"s.database = {p.Add(database, NpgsqlDbType.Text)}");
        if (filter.Tables.Count > 0)
        {
            // Every state of the tables that ever had one of these names: the effects of a change need the state before it.
            var names = string.Join(" OR ", filter.Tables.Select(t =>
                $"(k.\"table\" = {p.Add(t.Name, NpgsqlDbType.Text)}" + (t.Schema is { } schema ? $" AND k.schema = {p.Add(schema, NpgsqlDbType.Text)})" : ")")));
            scope.Add($"(s.source, s.relid) IN (SELECT k.source, k.relid FROM hindsight.schema_changes k WHERE {names})");
        }
        var shown = new List<string>();
        if (!filter.IncludeSnapshots) shown.Add("x.command_tag <> 'SNAPSHOT'");
        if (filter.Since is { } since) shown.Add($"x.committed_at >= {p.Add(since.ToUniversalTime(), NpgsqlDbType.TimestampTz)}");
        if (filter.Until is { } until) shown.Add($"x.committed_at < {p.Add(until.ToUniversalTime(), NpgsqlDbType.TimestampTz)}");
        var sql = new StringBuilder(
            """
            SELECT x.id, x.source, x.database, x.schema, x."table", x.command_tag, x.statement, x.statement_truncated, x.role,
                   x.context::text, x.committed_at, x.transaction_id, x.commit_lsn, x.columns::text, x.detail::text,
                   x.prev_schema, x.prev_table, x.prev_columns::text, x.prev_detail::text
            FROM (SELECT s.*, lag(s.schema) OVER w AS prev_schema, lag(s."table") OVER w AS prev_table,
                         lag(s.columns) OVER w AS prev_columns, lag(s.detail) OVER w AS prev_detail
                  FROM hindsight.schema_changes s
            """);
        if (scope.Count > 0) sql.Append("\n      WHERE ").AppendJoin(" AND ", scope);
        sql.Append("\n      WINDOW w AS (PARTITION BY s.source, s.relid ORDER BY s.commit_lsn, s.position)) x");
        if (shown.Count > 0) sql.Append("\nWHERE ").AppendJoin(" AND ", shown);
        sql.Append(CultureInfo.InvariantCulture,
            $"\nORDER BY x.committed_at DESC, x.commit_lsn DESC, x.position DESC LIMIT {p.Add(filter.Limit, NpgsqlDbType.Integer)}");

        var cmd = new NpgsqlCommand(sql.ToString(), conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var list = new List<SchemaChange>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
            var table = new TableName(r.GetString(3), r.GetString(4));
            var tag = r.GetString(5);
            var columns = Text(13) is { } json ? SchemaColumn.ParseMap(json) : null;
            var before = Text(17) is { } prev ? SchemaColumn.ParseMap(prev) : null;
            var tableBefore = Text(15) is { } prevSchema ? new TableName(prevSchema, r.GetString(16)) : null;
            list.Add(new SchemaChange
            {
                Id = r.GetInt64(0), Source = r.GetString(1), Database = r.GetString(2), Table = table, CommandTag = tag,
                Statement = Text(6), StatementTruncated = r.GetBoolean(7), Role = Text(8),
                Context = ChangeSql.ParseObject(r.GetString(9)),
                CommittedAt = r.GetFieldValue<DateTimeOffset>(10), TransactionId = r.GetInt64(11), CommitLsn = r.GetInt64(12),
                Columns = columns?.Select(c => c.ToPublic()).ToList() ?? [],
                Effects = SchemaEffects.Describe(tag, table, columns, tableBefore, before,
                    ChangeSql.ParseObject(r.GetString(14)), Text(18) is { } prevDetail ? ChangeSql.ParseObject(prevDetail) : null),
            });
        }
        return list;
    }
}
