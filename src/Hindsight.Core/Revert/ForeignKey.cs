using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Revert;

/// <summary>
/// A foreign key among the tables a plan writes, from <c>pg_constraint</c>: its columns in the child and the parent in
/// matching order (<c>conkey</c>/<c>confkey</c>), whether it can be deferred, and its ON UPDATE / ON DELETE actions
/// (<c>a</c> no action, <c>r</c> restrict, <c>c</c> cascade, <c>n</c> set null, <c>d</c> set default).
/// </summary>
internal sealed record ForeignKey(string Name, TableName Child, IReadOnlyList<string> ChildColumns, TableName Parent,
    IReadOnlyList<string> ParentColumns, bool Deferrable, char OnUpdate, char OnDelete)
{
    /// <summary>The foreign keys whose child and parent are both among <paramref name="tables"/> (schema-qualified).</summary>
    public static async Task<List<ForeignKey>> LoadAsync(NpgsqlConnection source, IReadOnlyCollection<TableName> tables, CancellationToken ct)
    {
        const string sql = """
            SELECT k.conname::text, cn.nspname::text, cc.relname::text, pn.nspname::text, pc.relname::text,
                   ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(n, i)
                         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
                   ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(n, i)
                         JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i),
                   k.condeferrable, k.confupdtype::text, k.confdeltype::text
            FROM pg_constraint k
            JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
            JOIN pg_class pc ON pc.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
            WHERE k.contype = 'f'
              AND (cn.nspname, cc.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
              AND (pn.nspname, pc.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            ORDER BY 2, 3, 1
            """;
        var keys = new List<ForeignKey>();
        if (tables.Count == 0) return keys;
        var cmd = new NpgsqlCommand(sql, source);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.Select(t => t.Schema!).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.Select(t => t.Name).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            keys.Add(new ForeignKey(r.GetString(0), new TableName(r.GetString(1), r.GetString(2)), r.GetFieldValue<string[]>(5),
                new TableName(r.GetString(3), r.GetString(4)), r.GetFieldValue<string[]>(6), r.GetBoolean(7), r.GetString(8)[0], r.GetString(9)[0]));
        return keys;
    }
}
