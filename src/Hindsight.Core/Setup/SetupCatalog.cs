using Hindsight.Postgres;
using Hindsight.Store;
using Npgsql;

namespace Hindsight.Setup;

/// <summary>Catalog look-ups for setup.</summary>
internal sealed class SetupCatalog(NpgsqlConnection conn)
{
    private static NpgsqlParameter Oid(uint oid) => new() { Value = oid, DataTypeName = "oid" };

    private const string RelColumns =
        """
        SELECT c.oid, n.oid, n.nspname::text, c.relname::text, c.relkind::text, c.relispartition, c.relpersistence::text,
               c.relreplident::text, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
               coalesce(pg_partition_root(c.oid)::oid, c.oid), rn.nspname::text, rc.relname::text
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_class rc ON rc.oid = coalesce(pg_partition_root(c.oid)::oid, c.oid)
        JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        """;

    private static Rel ReadRel(NpgsqlDataReader r) => new(
        r.GetFieldValue<uint>(0), r.GetFieldValue<uint>(1), r.GetString(2), r.GetString(3), r.GetString(4)[0], r.GetBoolean(5),
        r.GetString(6)[0], r.GetString(7)[0], r.GetBoolean(8), r.GetFieldValue<uint>(9), r.GetString(10), r.GetString(11));

    private async Task<List<Rel>> QueryRelsAsync(string where, Action<NpgsqlParameterCollection> bind, NpgsqlTransaction? tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(RelColumns + " " + where, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        bind(cmd.Parameters);
        var list = new List<Rel>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) list.Add(ReadRel(r));
        return list;
    }

    /// <summary>Resolves a (possibly unqualified) table name the way PostgreSQL would, with the search_path.</summary>
    public async Task<Rel> ResolveTableAsync(NamePattern p, CancellationToken ct)
    {
        var schemaCandidates = p.Schema?.Candidates().ToList();
        var schemasToTry = schemaCandidates is null ? new List<string?> { null } : schemaCandidates.Cast<string?>().ToList();
        foreach (var name in p.Name.Candidates())
        {
            foreach (var schema in schemasToTry)
            {
                var text = schema is null ? PgNames.Quote(name) : PgNames.Quote(schema, name);
                var found = await QueryRelsAsync("WHERE c.oid = to_regclass($1)", ps => ps.AddWithValue(text), null, ct).ConfigureAwait(false);
                if (found.Count == 1) return found[0];
            }
        }
        if (schemaCandidates is not null)
        {
            var schemaExists = false;
            foreach (var s in schemaCandidates)
                schemaExists |= await SchemaOidAsync(s, ct).ConfigureAwait(false) is not null;
            if (!schemaExists) throw new SetupException($"schema {p.Schema!.Text} does not exist (in {p.Input})");
        }
        throw new SetupException(schemaCandidates is null
            ? $"table {p.Input} does not exist (looked up with the search_path; qualify it as schema.table)"
            : $"table {p.Input} does not exist");
    }

    private async Task<uint?> SchemaOidAsync(string name, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand("SELECT oid FROM pg_namespace WHERE nspname = $1", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(name);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is uint oid ? oid : null;
    }

    public async Task<SchemaRef> ResolveSchemaAsync(NamePattern p, CancellationToken ct)
    {
        foreach (var name in p.Name.Candidates())
            if (await SchemaOidAsync(name, ct).ConfigureAwait(false) is { } oid) return new SchemaRef(oid, name);
        throw new SetupException($"schema {p.Input} does not exist");
    }

    public async Task<List<SchemaRef>> UserSchemasAsync(CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT oid, nspname::text FROM pg_namespace
            WHERE nspname <> $1 AND nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
            ORDER BY nspname
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(StoreMigrations.Schema);
        var list = new List<SchemaRef>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) list.Add(new SchemaRef(r.GetFieldValue<uint>(0), r.GetString(1)));
        return list;
    }

    /// <summary>Permanent tables (plain and partitioned, partitions included) in the given schemas.</summary>
    public Task<List<Rel>> TablesInSchemasAsync(uint[] schemaOids, CancellationToken ct) =>
        QueryRelsAsync("WHERE c.relnamespace = ANY($1) AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p' ORDER BY 3, 4",
            ps => ps.Add(new NpgsqlParameter { Value = schemaOids, DataTypeName = "oid[]" }), null, ct);

    /// <summary>Unlogged tables in the given schemas: not in the WAL, so never captured.</summary>
    public Task<List<Rel>> UnloggedTablesInSchemasAsync(uint[] schemaOids, CancellationToken ct) =>
        QueryRelsAsync("WHERE c.relnamespace = ANY($1) AND c.relkind IN ('r', 'p') AND c.relpersistence = 'u' ORDER BY 3, 4",
            ps => ps.Add(new NpgsqlParameter { Value = schemaOids, DataTypeName = "oid[]" }), null, ct);

    /// <summary>A partitioned table and everything under it.</summary>
    public Task<List<Rel>> PartitionTreeAsync(uint root, NpgsqlTransaction? tx, CancellationToken ct) =>
        QueryRelsAsync("WHERE c.oid IN (SELECT relid FROM pg_partition_tree($1::regclass)) ORDER BY 3, 4",
            ps => ps.Add(Oid(root)), tx, ct);
}
