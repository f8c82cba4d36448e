using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// The order a rollback's phases take its tables in, from the foreign keys among them (<c>pg_constraint</c>): parents before
/// children, and which tables are referenced by another chosen table (or by themselves). This is the plan's first order;
/// <see cref="RevertOrder"/> then orders its statements row by row (self-references and cycles included).
/// </summary>
/// <param name="ParentsFirst">The tables, each after every chosen table it references (given order otherwise; a cycle in given order).</param>
/// <param name="Referenced">Tables a chosen table references: their rows are deleted only after the children moved off them.</param>
internal sealed record RollbackOrder(IReadOnlyList<TableName> ParentsFirst, IReadOnlySet<TableName> Referenced)
{
    public static async Task<RollbackOrder> LoadAsync(NpgsqlConnection source, IReadOnlyList<TableName> tables, CancellationToken ct)
    {
        const string sql = """
            SELECT cn.nspname, cc.relname, pn.nspname, pc.relname
            FROM pg_constraint k
            JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
            JOIN pg_class pc ON pc.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
            WHERE k.contype = 'f'
              AND (cn.nspname, cc.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
              AND (pn.nspname, pc.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """;
        await using var cmd = new NpgsqlCommand(sql, source);
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.Select(t => t.Schema!).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.Select(t => t.Name).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var parents = tables.ToDictionary(t => t, _ => new HashSet<TableName>());
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct))
                parents[new TableName(r.GetString(0), r.GetString(1))].Add(new TableName(r.GetString(2), r.GetString(3)));

        // Kahn's algorithm, keeping the given order among tables that are free at the same time.
        var order = new List<TableName>();
        var left = tables.ToList();
        while (left.Count > 0)
        {
            var next = left.FirstOrDefault(t => parents[t].All(p => p == t || order.Contains(p)));
            if (next is null)
            {
                // Tables that reference each other: the row-level order (RevertOrder) sorts their rows out.
                order.AddRange(left);
                break;
            }
            order.Add(next);
            left.Remove(next);
        }
        return new RollbackOrder(order, parents.Values.SelectMany(p => p).ToHashSet());
    }
}
