using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Revert;

/// <summary>
/// Finds the rows of a selection that something else changed afterwards: a later stored change outside the selection
/// (or a TRUNCATE of the table), or a source row that differs from the selection's last image of it (a change the store
/// has not caught up with yet).
/// </summary>
internal static class RevertConflicts
{
    public static async Task<List<RevertConflict>> FindAsync(NpgsqlDataSource store, NpgsqlConnection source, IReadOnlyList<Change> selected,
        IReadOnlyDictionary<(string, string), RevertTable> tables, CancellationToken ct)
    {
        var ids = selected.Select(c => c.Id).ToArray();
        var conflicts = new List<RevertConflict>();
        // For each selected change, later changes of its row (or TRUNCATEs of its table) that are not selected.
        const string sql = """
            SELECT DISTINCT ON (l.id) s.schema, s."table", s.primary_key, l.id, l.operation, l.committed_at,
                   coalesce(l.context -> 'hindsight' -> 'revertOf' -> 'changes' @> to_jsonb(s.id), false)
                   OR EXISTS (SELECT FROM jsonb_array_elements(CASE WHEN jsonb_typeof(l.context -> 'hindsight' -> 'revertOf' -> 'changeRanges') = 'array'
                                                                  THEN l.context -> 'hindsight' -> 'revertOf' -> 'changeRanges' END) AS r
                              WHERE jsonb_typeof(r -> 0) = 'number' AND jsonb_typeof(r -> 1) = 'number'
                                AND s.id BETWEEN (r ->> 0)::numeric AND (r ->> 1)::numeric) AS reverts_it
            FROM hindsight.changes s
            -- The row's later changes, and the table's later TRUNCATEs: two probes of the record index each (one join
            -- with an OR between them scans the table's whole trail for every selected change).
            CROSS JOIN LATERAL (
                SELECT l.id, l.operation, l.committed_at, l.context FROM hindsight.changes l
                WHERE l."table" = s."table" AND l.primary_key = s.primary_key AND l.source = s.source AND l.schema = s.schema
                  AND (l.committed_at, l.commit_lsn, l.ordinal) > (s.committed_at, s.commit_lsn, s.ordinal)
                UNION ALL
                SELECT l.id, l.operation, l.committed_at, l.context FROM hindsight.changes l
                WHERE l."table" = s."table" AND l.primary_key IS NULL AND l.operation = 'TRUNCATE' AND l.source = s.source AND l.schema = s.schema
                  AND (l.committed_at, l.commit_lsn, l.ordinal) > (s.committed_at, s.commit_lsn, s.ordinal)
            ) l
            WHERE s.id = ANY($1) AND s.primary_key IS NOT NULL AND l.id <> ALL($1)
            ORDER BY l.id
            """;
        var cmd = store.CreateCommand(sql);
        await using (cmd.ConfigureAwait(false))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                // A later change made by a revert of the selected change is not a conflict to overwrite: the change is undone.
                var revertsIt = r.GetBoolean(6);
                var later = $"change {r.GetInt64(3)} ({r.GetString(4)} at {r.GetFieldValue<DateTimeOffset>(5):O})";
                conflicts.Add(new RevertConflict(new TableName(r.GetString(0), r.GetString(1)), r.GetString(2),
                    revertsIt ? $"already reverted by {later}" : $"changed later by {later}", r.GetInt64(3))
                {
                    AlreadyReverted = revertsIt,
                });
            }
        }

        // The newest selected change of each row says what the row must be now; the source says what it is.
        var seen = conflicts.Select(c => (c.Table.Schema, c.Table.Name, c.PrimaryKey)).ToHashSet();
        foreach (var c in selected.Where(c => c.PrimaryKey is not null && c.Operation is Operation.Create or Operation.Update or Operation.Delete)
                     .DistinctBy(c => (c.Schema, c.Table, c.PrimaryKey)))
        {
            if (!seen.Add((c.Schema, c.Table, c.PrimaryKey!)) || !tables.TryGetValue((c.Schema, c.Table), out var t)) continue;
            var why = await SourceDiffersAsync(source, null, t, c, forUpdate: false, ct).ConfigureAwait(false);
            if (why is not null)
                conflicts.Add(new RevertConflict(t.Name, c.PrimaryKey!, why + " (changed since, and not yet in the store: catch up first)", null));
        }
        return conflicts;
    }

    /// <summary>
    /// Why the source row differs from what <paramref name="newest"/> (the selection's newest change of it) left, or null
    /// when it does not. <paramref name="forUpdate"/> locks the row, so it cannot move on before the revert commits.
    /// </summary>
    public static async Task<string?> SourceDiffersAsync(NpgsqlConnection source, NpgsqlTransaction? tx, RevertTable t, Change newest, bool forUpdate,
        CancellationToken ct)
    {
        // Only the values the trail holds are compared: a redacted digest or a TOAST placeholder says nothing of the row.
        var expected = newest.Operation is Operation.Delete ? null : TrailValue.Held(newest.After);
        var keyImage = TrailValue.Held(newest.Operation is Operation.Delete ? newest.Before : newest.After);
        if (t.Key.Any(k => !keyImage.ContainsKey(k))) return null; // refused when the statement is built
        var sql = $"SELECT to_jsonb(t.*)::text FROM {t.Quoted} AS t, {t.Image("$1")} AS k WHERE {t.KeyMatch("t", "k")}{(forUpdate ? " FOR UPDATE OF t" : "")}";
        var cmd = new NpgsqlCommand(sql, source, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = keyImage.ToJsonString(), NpgsqlDbType = NpgsqlDbType.Text });
        var current = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string json ? JsonNode.Parse(json) as JsonObject : null;
        return (expected, current) switch
        {
            (null, null) => null,
            (null, _) => "the row exists again in the source, but the trail's last change deleted it",
            (_, null) => "the row is gone from the source, but the trail does not show it deleted",
            _ => SameOnCommonColumns(expected, current) ? null : "the row in the source differs from the trail's last image of it",
        };
    }

    /// <summary>
    /// Equal as jsonb on the columns both have (columns added or dropped since are not a change of the row, nor are
    /// columns the trail's image leaves out, e.g. ignored ones).
    /// </summary>
    private static bool SameOnCommonColumns(JsonObject a, JsonObject b) =>
        a.Where(kv => b.ContainsKey(kv.Key)).All(kv => JsonEquality.JsonbEquals(kv.Value, b[kv.Key]));
}
