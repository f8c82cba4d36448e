using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Query;
using Npgsql;

namespace Hindsight.Revert;

/// <summary>
/// A table's shape in the source database today, as the revert statements need it: its key columns (from pg_index),
/// and which columns cannot be written (generated) or need OVERRIDING SYSTEM VALUE (identity ALWAYS).
/// </summary>
internal sealed record RevertTable(TableName Name, IReadOnlyList<string> Key, IReadOnlySet<string> Writable, IReadOnlySet<string> Generated,
    IReadOnlySet<string> IdentityAlways)
{
    /// <summary>
    /// Columns a re-inserted row cannot leave out: NOT NULL, without a default, not identity and not generated. A value
    /// the trail does not hold (<see cref="TrailValue"/>) cannot be left out of such a column, so that insert is refused.
    /// </summary>
    public IReadOnlySet<string> Required { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary><c>"schema"."table"</c>, quoted.</summary>
    public string Quoted => PgNames.Quote(Name.Schema!, Name.Name);

    /// <summary>Reads the table from the source catalog; names are compared as values.</summary>
    /// <exception cref="AuditQueryException">The table is gone, or has no primary key.</exception>
    public static async Task<RevertTable> LoadAsync(NpgsqlConnection source, string schema, string table, CancellationToken ct)
    {
        var name = new TableName(schema, table);
        const string sql = """
            SELECT a.attname, a.attgenerated <> '', a.attidentity = 'a', coalesce(a.attnum = ANY(i.indkey), false),
                   a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
            ORDER BY a.attnum
            """;
        var cmd = new NpgsqlCommand(sql, source) { Parameters = { new() { Value = schema }, new() { Value = table } } };
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var key = new List<string>();
        var writable = new HashSet<string>(StringComparer.Ordinal);
        var generated = new HashSet<string>(StringComparer.Ordinal);
        var identity = new HashSet<string>(StringComparer.Ordinal);
        var required = new HashSet<string>(StringComparer.Ordinal);
        var any = false;
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            any = true;
            var column = r.GetString(0);
            if (r.GetBoolean(1)) generated.Add(column); else writable.Add(column);
            if (r.GetBoolean(2)) identity.Add(column);
            if (r.GetBoolean(3)) key.Add(column);
            if (r.GetBoolean(4)) required.Add(column);
        }
        if (!any) throw new AuditQueryException($"cannot revert changes of {name}: the table no longer exists in the source database");
        if (key.Count == 0)
            throw new AuditQueryException($"cannot revert changes of {name}: it has no primary key today, so its rows cannot be matched (add one)");
        return new RevertTable(name, key, writable, generated, identity) { Required = required };
    }

    /// <summary><c>t."k1" = i."k1" AND …</c>: the target row matched by key against an image record.</summary>
    public string KeyMatch(string target, string image) =>
        string.Join(" AND ", Key.Select(k => $"{target}.{PgNames.Quote(k)} = {image}.{PgNames.Quote(k)}"));

    /// <summary>The populated record of a jsonb image parameter (<c>jsonb_populate_record</c> types every column as the table does).</summary>
    public string Image(string placeholder) => $"jsonb_populate_record(NULL::{Quoted}, {placeholder}::jsonb)";
}
