using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// The SQL of the query side. Statements are fixed text chosen by which criteria are set; every value a caller gives
/// (names, keys, JSON, times) travels as a parameter.
/// </summary>
internal static class ChangeSql
{
    /// <summary>The columns of <see cref="Change"/>, for a table aliased <c>c</c>, in the order <see cref="Read"/> expects.</summary>
    public const string Columns =
        """
        c.id, c.database, c.schema, c."table", c.primary_key, c.operation, c.before::text, c.after::text, c.context::text,
        c.committed_at, c.transaction_id, c.position, c.commit_lsn, c.ordinal, c.queued_at, c.created_at, c.source
        """;

    /// <summary>
    /// A CTE <c>stored_sources(source)</c>: the distinct sources in the store, one probe of the
    /// (source, commit_lsn, ordinal) key index each (a loose index scan; there are few sources and millions of changes).
    /// </summary>
    public const string StoredSources =
        """
        WITH RECURSIVE stored_sources(source) AS (
            SELECT min(c.source) FROM hindsight.changes c
            UNION ALL
            SELECT (SELECT min(c.source) FROM hindsight.changes c WHERE c.source > d.source)
            FROM stored_sources d WHERE d.source IS NOT NULL
        )
        """;

    /// <summary>Runs <paramref name="cmd"/> (selecting <see cref="Columns"/>) and reads every row.</summary>
    public static async Task<List<Change>> ReadAllAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var changes = new List<Change>();
        while (await r.ReadAsync(ct)) changes.Add(Read(r));
        return changes;
    }

    /// <summary>Reads a <see cref="Columns"/> row.</summary>
    public static Change Read(NpgsqlDataReader r) => new()
    {
        Id = r.GetInt64(0),
        Database = r.GetString(1),
        Schema = r.GetString(2),
        Table = r.GetString(3),
        PrimaryKey = r.IsDBNull(4) ? null : r.GetString(4),
        Operation = OperationParser.FromStored(r.GetString(5)),
        Before = ParseObject(r.GetString(6)),
        After = ParseObject(r.GetString(7)),
        Context = ParseObject(r.GetString(8)),
        CommittedAt = r.GetFieldValue<DateTimeOffset>(9),
        TransactionId = r.GetInt64(10),
        Position = r.GetInt64(11),
        CommitLsn = r.GetInt64(12),
        Ordinal = r.GetInt32(13),
        QueuedAt = r.GetFieldValue<DateTimeOffset>(14),
        CreatedAt = r.GetFieldValue<DateTimeOffset>(15),
        Source = r.GetString(16),
    };

    /// <summary>A stored image or context (always a JSON object in the store).</summary>
    public static JsonObject ParseObject(string json) => JsonNode.Parse(json) as JsonObject ?? [];

    /// <summary>Collects positional parameters (<c>$1</c>, <c>$2</c>, …) for one command.</summary>
    public sealed class Parameters
    {
        public List<NpgsqlParameter> List { get; } = [];

        /// <summary>Adds a value and returns its placeholder.</summary>
        public string Add(object value, NpgsqlDbType type)
        {
            List.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
            return "$" + List.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>Copies the parameters into a command.</summary>
        public void ApplyTo(NpgsqlCommand cmd) => cmd.Parameters.AddRange(List.ToArray());
    }

    /// <summary>
    /// The condition that <c>c.primary_key</c> is <paramref name="primaryKey"/> as stored: a composite key given with other
    /// spacing (<c>[1, "a"]</c>) also matches its compact stored form (<see cref="JsonText.KeyForms"/>).
    /// </summary>
    public static string KeyIs(string primaryKey, Parameters p) =>
        $"c.primary_key = ANY({p.Add(JsonText.KeyForms(primaryKey), NpgsqlDbType.Array | NpgsqlDbType.Text)})";

    /// <summary>The WHERE conditions of a filter (joined with AND; "true" when there are none).</summary>
    public static string Where(ChangeFilter f, Parameters p)
    {
        var conditions = new List<string>();
        if (f.Tables.Count > 0)
        {
            var names = f.Tables.Select(t => t.Name).ToArray();
            var schemas = f.Tables.Select(t => t.Schema).ToArray();
            var n = p.Add(names, NpgsqlDbType.Array | NpgsqlDbType.Text);
            var s = p.Add(schemas, NpgsqlDbType.Array | NpgsqlDbType.Text);
            // The first condition lets the (table, primary_key, committed_at) index narrow by name.
            conditions.Add($"""c."table" = ANY({n}) AND EXISTS (SELECT 1 FROM unnest({n}::text[], {s}::text[]) AS f(t, s) WHERE f.t = c."table" AND (f.s IS NULL OR f.s = c.schema))""");
        }
        if (f.PrimaryKey is not null)
            conditions.Add(KeyIs(f.PrimaryKey, p));
        if (f.Operations.Count > 0)
            conditions.Add($"c.operation = ANY({p.Add(f.Operations.Distinct().Select(o => o.ToStored()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)})");
        if (f.Since is { } since)
            conditions.Add($"c.committed_at >= {p.Add(since.ToUniversalTime(), NpgsqlDbType.TimestampTz)}");
        if (f.Until is { } until)
            conditions.Add($"c.committed_at < {p.Add(until.ToUniversalTime(), NpgsqlDbType.TimestampTz)}");
        if (f.TransactionId is { } xid)
            conditions.Add($"c.transaction_id = {p.Add(xid, NpgsqlDbType.Bigint)}");
        if (f.Source is not null)
            conditions.Add($"c.source = {p.Add(f.Source, NpgsqlDbType.Text)}");
        if (f.Database is not null)
            conditions.Add($"c.database = {p.Add(f.Database, NpgsqlDbType.Text)}");
        // The context index covers only changes with context (migration 2): say so, so the planner can use it.
        if (f.Context is { } ctx && ctx != "{}")
            conditions.Add($"c.context @> {p.Add(ctx, NpgsqlDbType.Jsonb)} AND c.context <> '{{}}'");
        if (f.Before is { } before && before != "{}")
            conditions.Add($"c.before @> {p.Add(before, NpgsqlDbType.Jsonb)}");
        if (f.After is { } after && after != "{}")
            conditions.Add($"c.after @> {p.Add(after, NpgsqlDbType.Jsonb)}");
        return conditions.Count == 0 ? "true" : string.Join("\n  AND ", conditions);
    }

    /// <summary>Conditions that place a table (by name, optionally schema) and optionally a source and a database.</summary>
    public static string Scope(TableName table, SourceScope? scope, Parameters p, string alias = "c")
    {
        var sb = new StringBuilder($"{alias}.\"table\" = {p.Add(table.Name, NpgsqlDbType.Text)}");
        if (table.Schema is not null) sb.Append(CultureInfo.InvariantCulture, $" AND {alias}.schema = {p.Add(table.Schema, NpgsqlDbType.Text)}");
        if (scope?.Source is { } source) sb.Append(CultureInfo.InvariantCulture, $" AND {alias}.source = {p.Add(source, NpgsqlDbType.Text)}");
        if (scope?.Database is { } database) sb.Append(CultureInfo.InvariantCulture, $" AND {alias}.database = {p.Add(database, NpgsqlDbType.Text)}");
        return sb.ToString();
    }
}
