using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Revert;

/// <summary>The TRUNCATEs of a table relative to the moment.</summary>
/// <param name="AtOrBefore">A TRUNCATE committed at or before the moment (every row not changed since did not exist then).</param>
/// <param name="After">A TRUNCATE committed after it (it removed rows the trail may never have seen).</param>
internal sealed record RollbackTruncates(bool AtOrBefore, bool After);

/// <summary>Reads <see cref="RollbackKey"/>s and <see cref="RollbackTruncates"/> of one table from the store.</summary>
internal static class RollbackTrail
{
    public static async Task<List<RollbackKey>> KeysAsync(NpgsqlDataSource store, string source, TableName table, DateTimeOffset at,
        CancellationToken ct)
    {
        // Two DISTINCT ON passes over the (table, primary_key, committed_at) index: each key's newest and first change.
        const string sql = """
            WITH scope AS NOT MATERIALIZED (
                SELECT c.* FROM hindsight.changes c
                WHERE c.source = $1 AND c.schema = $2 AND c."table" = $3 AND c.primary_key IS NOT NULL
            ), newest AS (
                SELECT DISTINCT ON (s.primary_key) s.primary_key, s.operation, s.committed_at, s.commit_lsn, s.ordinal,
                       CASE WHEN s.operation = 'DELETE' THEN s.before ELSE s.after END AS image
                FROM scope s ORDER BY s.primary_key, s.committed_at DESC, s.commit_lsn DESC, s.ordinal DESC
            ), first AS (
                SELECT DISTINCT ON (s.primary_key) s.primary_key, s.operation, s.committed_at, s.before, s.after
                FROM scope s ORDER BY s.primary_key, s.committed_at, s.commit_lsn, s.ordinal
            ), last_truncate AS (
                SELECT c.committed_at, c.commit_lsn, c.ordinal FROM hindsight.changes c
                WHERE c.source = $1 AND c.schema = $2 AND c."table" = $3 AND c.primary_key IS NULL AND c.operation = 'TRUNCATE'
                ORDER BY c.committed_at DESC, c.commit_lsn DESC, c.ordinal DESC LIMIT 1
            )
            SELECT n.primary_key,
                   n.operation <> 'DELETE' AND (t.committed_at IS NULL
                       OR (n.committed_at, n.commit_lsn, n.ordinal) > (t.committed_at, t.commit_lsn, t.ordinal)),
                   n.image::text, f.committed_at <= $4, f.operation,
                   CASE WHEN f.committed_at > $4 THEN f.before::text END, CASE WHEN f.committed_at > $4 THEN f.after::text END
            FROM newest n JOIN first f USING (primary_key) LEFT JOIN last_truncate t ON true
            ORDER BY n.primary_key
            """;
        var cmd = store.CreateCommand(sql);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        AddScope(cmd, source, table, at);
        var keys = new List<RollbackKey>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            keys.Add(new RollbackKey(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetBoolean(3), r.GetString(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6)));
        return keys;
    }

    public static async Task<RollbackTruncates> TruncatesAsync(NpgsqlDataSource store, string source, TableName table, DateTimeOffset at,
        CancellationToken ct)
    {
        const string sql = """
            SELECT coalesce(bool_or(c.committed_at <= $4), false), coalesce(bool_or(c.committed_at > $4), false)
            FROM hindsight.changes c
            WHERE c.source = $1 AND c.schema = $2 AND c."table" = $3 AND c.primary_key IS NULL AND c.operation = 'TRUNCATE'
            """;
        var cmd = store.CreateCommand(sql);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        AddScope(cmd, source, table, at);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        await r.ReadAsync(ct).ConfigureAwait(false);
        return new RollbackTruncates(r.GetBoolean(0), r.GetBoolean(1));
    }

    private static void AddScope(NpgsqlCommand cmd, string source, TableName table, DateTimeOffset at)
    {
        cmd.Parameters.Add(new NpgsqlParameter { Value = source, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = table.Schema!, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = table.Name, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = at.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
    }
}
