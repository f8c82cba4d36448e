using System.Collections.Concurrent;
using Npgsql;

namespace Hindsight.Capture.Rendering;

/// <summary>
/// Loads <see cref="PgTypeInfo"/> from the source database's <c>pg_type</c>/<c>pg_attribute</c>
/// (with everything a type needs: element, base and attribute types, recursively) and caches it.
/// Thread-safe; a cache hit costs one dictionary lookup and allocates nothing.
/// </summary>
/// <remarks>
/// <para>A miss queries the catalog, so types created after start-up are found. The catalog read
/// is the current one, not the one in force when a WAL record was written (no client can read a
/// historic catalog); after <c>ALTER TYPE … ADD/DROP/RENAME ATTRIBUTE</c> call
/// <see cref="Invalidate"/> (the renderer throws <see cref="PgValueFormatException"/> when a
/// record's field count no longer matches the cached type). Requires PostgreSQL 14 or later
/// (<c>pg_type.typsubscript</c>), as pgoutput protocol version 2 does.</para>
/// </remarks>
internal sealed class PgTypeCatalog
{
    // The closure of the requested types: array element types (true arrays only, as
    // get_element_type/IsTrueArrayType), domain base types and live attribute types of composites.
    private const string LoadSql = """
        WITH RECURSIVE closure(oid) AS (
            SELECT unnest($1::pg_catalog.oid[])
          UNION
            SELECT d.oid
            FROM closure c
            JOIN pg_catalog.pg_type t ON t.oid = c.oid
            CROSS JOIN LATERAL (
                SELECT t.typelem
                WHERE t.typelem <> 0 AND t.typsubscript = 'pg_catalog.array_subscript_handler'::pg_catalog.regproc
              UNION ALL
                SELECT t.typbasetype WHERE t.typtype = 'd'
              UNION ALL
                SELECT a.atttypid
                FROM pg_catalog.pg_attribute a
                WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
            ) AS d(oid)
        )
        SELECT t.oid,
               n.nspname::text,
               t.typname::text,
               t.typtype,
               t.typbasetype,
               t.typelem,
               t.typelem <> 0 AND t.typsubscript = 'pg_catalog.array_subscript_handler'::pg_catalog.regproc AS is_array,
               coalesce(e.typdelim, ',') AS delimiter,
               ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                     WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                     ORDER BY a.attnum) AS attnames,
               ARRAY(SELECT a.atttypid FROM pg_catalog.pg_attribute a
                     WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                     ORDER BY a.attnum) AS atttypes,
               (SELECT p.proname::text
                FROM pg_catalog.pg_cast k JOIN pg_catalog.pg_proc p ON p.oid = k.castfunc
                WHERE k.castsource = t.oid AND k.casttarget = 'pg_catalog.json'::pg_catalog.regtype
                  AND k.castmethod = 'f') AS json_cast
        FROM pg_catalog.pg_type t
        JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem
        WHERE t.oid IN (SELECT oid FROM closure)
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ConcurrentDictionary<uint, PgTypeInfo> _cache = new();

    /// <summary>Creates a catalog reading types from <paramref name="dataSource"/> (the source database).</summary>
    /// <param name="dataSource">A data source for the source database (any session settings).</param>
    public PgTypeCatalog(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>The number of types cached.</summary>
    public int Count => _cache.Count;

    /// <summary>
    /// The type with OID <paramref name="oid"/>, from the cache or (on a miss) loaded with all the
    /// types it depends on, in one query.
    /// </summary>
    /// <param name="oid">The type's OID (e.g. from a pgoutput relation message).</param>
    /// <param name="cancellationToken">Cancels the catalog query.</param>
    /// <exception cref="KeyNotFoundException">No type has that OID.</exception>
    public ValueTask<PgTypeInfo> ResolveAsync(uint oid, CancellationToken cancellationToken = default) =>
        _cache.TryGetValue(oid, out var type)
            ? new ValueTask<PgTypeInfo>(type)
            : new ValueTask<PgTypeInfo>(LoadOneAsync(oid, cancellationToken));

    /// <summary>Makes sure every type in <paramref name="oids"/> is cached, loading the missing ones in one query.</summary>
    /// <param name="oids">The types' OIDs (e.g. all column types of a relation).</param>
    /// <param name="cancellationToken">Cancels the catalog query.</param>
    /// <exception cref="KeyNotFoundException">One of the OIDs names no type.</exception>
    public async ValueTask ResolveManyAsync(IEnumerable<uint> oids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(oids);
        List<uint>? missing = null;
        foreach (var oid in oids)
            if (!_cache.ContainsKey(oid))
                (missing ??= []).Add(oid);
        if (missing is not null) await LoadAsync(missing.Distinct().ToArray(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The already-resolved type with OID <paramref name="oid"/>.</summary>
    /// <param name="oid">The type's OID.</param>
    /// <exception cref="InvalidOperationException">The type has not been resolved (or was invalidated) yet.</exception>
    public PgTypeInfo Get(uint oid) =>
        _cache.TryGetValue(oid, out var type)
            ? type
            : throw new InvalidOperationException(
                $"Type oid {oid} has not been resolved: call {nameof(ResolveAsync)} (or {nameof(ResolveManyAsync)}) first.");

    /// <summary>The already-resolved type with OID <paramref name="oid"/>, if cached.</summary>
    /// <param name="oid">The type's OID.</param>
    /// <param name="type">The type, when cached.</param>
    public bool TryGet(uint oid, out PgTypeInfo type) => _cache.TryGetValue(oid, out type!);

    /// <summary>
    /// Drops the type with OID <paramref name="oid"/> and every cached type built on it (arrays of
    /// it, domains over it, composites containing it, transitively), so the next resolve reloads
    /// them. Call after <c>ALTER TYPE</c> on a composite (or when pgoutput announces a type again).
    /// </summary>
    /// <param name="oid">The altered type's OID.</param>
    public void Invalidate(uint oid)
    {
        if (!_cache.TryRemove(oid, out _)) return;
        var removed = new Queue<uint>();
        removed.Enqueue(oid);
        while (removed.Count > 0)
        {
            var gone = removed.Dequeue();
            foreach (var (key, type) in _cache)
                if (type.DependsDirectlyOn(gone) && _cache.TryRemove(key, out _))
                    removed.Enqueue(key);
        }
    }

    /// <summary>Drops every cached type.</summary>
    public void Clear() => _cache.Clear();

    private async Task<PgTypeInfo> LoadOneAsync(uint oid, CancellationToken ct)
    {
        await LoadAsync([oid], ct).ConfigureAwait(false);
        return _cache.TryGetValue(oid, out var type)
            ? type
            : throw new KeyNotFoundException($"No type with oid {oid} in the source database.");
    }

    private async Task LoadAsync(uint[] oids, CancellationToken ct)
    {
        var rows = new Dictionary<uint, Row>();
        var cmd = _dataSource.CreateCommand(LoadSql);
        await using (cmd.ConfigureAwait(false))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = oids, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Oid });
            var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var row = new Row(
                    Oid: reader.GetFieldValue<uint>(0),
                    Schema: reader.GetString(1),
                    Name: reader.GetString(2),
                    Kind: reader.GetChar(3),
                    BaseType: reader.GetFieldValue<uint>(4),
                    Element: reader.GetFieldValue<uint>(5),
                    IsArray: reader.GetBoolean(6),
                    Delimiter: reader.GetChar(7),
                    AttributeNames: reader.GetFieldValue<string[]>(8),
                    AttributeTypes: reader.GetFieldValue<uint[]>(9),
                    JsonCastFunction: reader.IsDBNull(10) ? null : reader.GetString(10));
                rows[row.Oid] = row;
            }
        }

        var built = new Dictionary<uint, PgTypeInfo>();
        foreach (var oid in oids)
            if (rows.ContainsKey(oid))
                Build(oid, rows, built, depth: 0);
        foreach (var (oid, type) in built)
            _cache.TryAdd(oid, type);
    }

    private PgTypeInfo Build(uint oid, Dictionary<uint, Row> rows, Dictionary<uint, PgTypeInfo> built, int depth)
    {
        if (built.TryGetValue(oid, out var done) || _cache.TryGetValue(oid, out done)) return done;
        if (depth > 100) throw new InvalidOperationException($"Type oid {oid} nests too deeply.");
        if (!rows.TryGetValue(oid, out var row))
            throw new KeyNotFoundException($"Type oid {oid} vanished from the source database while being loaded.");

        PgTypeInfo type;
        if (row.Kind == 'd')
        {
            type = PgTypeInfo.Domain(oid, row.Name, Build(row.BaseType, rows, built, depth + 1), row.Schema);
        }
        else if (row.IsArray)
        {
            type = PgTypeInfo.Array(oid, row.Name, Build(row.Element, rows, built, depth + 1), row.Delimiter, row.Schema);
        }
        else if (row.Kind == 'c')
        {
            var attributes = new PgAttribute[row.AttributeNames.Length];
            for (int i = 0; i < attributes.Length; i++)
                attributes[i] = new PgAttribute(row.AttributeNames[i], Build(row.AttributeTypes[i], rows, built, depth + 1));
            type = PgTypeInfo.Composite(oid, row.Name, attributes, row.Schema);
        }
        else
        {
            type = PgTypeInfo.Scalar(oid, row.Name, row.Kind, row.Schema, row.JsonCastFunction);
        }
        built[oid] = type;
        return type;
    }

    private sealed record Row(
        uint Oid, string Schema, string Name, char Kind, uint BaseType, uint Element, bool IsArray, char Delimiter,
        string[] AttributeNames, uint[] AttributeTypes, string? JsonCastFunction);
}
