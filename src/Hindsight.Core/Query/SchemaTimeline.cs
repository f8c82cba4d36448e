using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Npgsql;

namespace Hindsight.Query;

/// <summary>
/// The columns one table had over time, from <c>hindsight.schema_changes</c>: what lets as-of answer with the columns a
/// table had at the moment asked for, whatever migrations came after each row's last change.
/// </summary>
/// <remarks>
/// Columns are followed by their number in the source (attnum), which renames and retypes keep: a value stored under a
/// column's old name is shown under its name at the moment, a dropped column's value goes, and a column added after a
/// row's last change shows the value PostgreSQL gives such rows (the constant default it was added with, or null), or,
/// when the column was added with a volatile default (the table was rewritten, and no row change was logged),
/// <see cref="ImagePlaceholders.UnknownAfterSchemaChange"/>. A retyped column keeps the value the image holds when the
/// retype only widened it (integer to bigint, varchar to text…, without USING); otherwise it is marked unknown too.
/// </remarks>
internal sealed class SchemaTimeline
{
    private readonly List<SchemaVersion> _versions;

    private SchemaTimeline(List<SchemaVersion> versions) => _versions = versions;

    /// <summary>No schema changes known: images are taken as they are.</summary>
    public static SchemaTimeline Empty { get; } = new([]);

    /// <summary>True when nothing is known of the table's columns.</summary>
    public bool IsEmpty => _versions.Count == 0;

    /// <summary>
    /// Reads the schema versions, counted at <paramref name="cut"/> (null: all), of the table that has the name
    /// <paramref name="table"/> then: found by name, then followed by its OID through every name it had. Empty when the
    /// store records none, or when the name is ambiguous (several schemas or sources; the caller says so).
    /// </summary>
    public static async Task<SchemaTimeline> ReadAsync(NpgsqlConnection conn, TableName table, SourceScope? scope, AsOfCut? cut,
        CancellationToken ct)
    {
        var p = new ChangeSql.Parameters();
        var counts = cut is null ? null : cut.Bind(p);
        var named = new List<string> { $"k.\"table\" = {p.Add(table.Name, NpgsqlTypes.NpgsqlDbType.Text)}" };
        if (table.Schema is { } schema) named.Add($"k.schema = {p.Add(schema, NpgsqlTypes.NpgsqlDbType.Text)}");
        if (scope?.Source is { } source) named.Add($"k.source = {p.Add(source, NpgsqlTypes.NpgsqlDbType.Text)}");
        if (scope?.Database is { } database) named.Add($"k.database = {p.Add(database, NpgsqlTypes.NpgsqlDbType.Text)}");
        if (counts is not null) named.Add(counts.Counts("k"));
        // The table so named at the cut: the newest state under that name of each (source, schema), and its OID's states.
        var sql = $"""
            WITH named AS (
                SELECT DISTINCT ON (k.source, k.schema) k.source, k.relid
                FROM hindsight.schema_changes k WHERE {string.Join(" AND ", named)}
                ORDER BY k.source, k.schema, k.commit_lsn DESC, k.position DESC
            )
            SELECT s.source, s.schema, s."table", s.commit_lsn, s.position, s.command_tag, s.columns IS NULL, s.columns::text,
                   (SELECT count(*) FROM named), s.statement
            FROM hindsight.schema_changes s JOIN named n ON n.source = s.source AND n.relid = s.relid
            {(counts is null ? "" : "WHERE " + counts.Counts("s"))}
            ORDER BY s.commit_lsn, s.position
            """;
        var cmd = new NpgsqlCommand(sql, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var versions = new List<SchemaVersion>();
        string? timelineSource = null;
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            if (r.GetInt64(8) != 1) return Empty;
            timelineSource = r.GetString(0);
            versions.Add(new SchemaVersion(r.GetInt64(3), r.GetInt64(4), r.GetString(5), r.GetBoolean(6),
                SchemaColumn.ParseMap(r.IsDBNull(7) ? null : r.GetString(7)))
            {
                Schema = r.GetString(1), Table = r.GetString(2), Statement = r.IsDBNull(9) ? null : r.GetString(9),
            });
        }
        // A table renamed away from the name by the cut is not the table of that name: nothing to follow.
        if (versions.Count == 0 || versions[^1].Table != table.Name || (table.Schema is { } asked && versions[^1].Schema != asked)) return Empty;
        return new SchemaTimeline(versions) { Source = timelineSource };
    }

    /// <summary>The source of the table (null when empty).</summary>
    public string? Source { get; private init; }

    /// <summary>Where the table is at the cut: its source and schema (null when empty).</summary>
    public (string Source, string Schema)? Place => Source is { } s && Current is { } v ? (s, v.Schema) : null;

    /// <summary>The table's names over time, when it had more than one or was created while tracked (null otherwise: the
    /// rows stored under its name are all its own).</summary>
    public TableLineage? Lineage
    {
        get
        {
            if (Source is null) return null;
            var names = new List<TableLineage.Name>();
            for (var i = 0; i < _versions.Count; i++)
            {
                var v = _versions[i];
                if (names.Count > 0 && names[^1].Schema == v.Schema && names[^1].Table == v.Table) continue;
                if (names.Count > 0) names[^1] = names[^1] with { Until = (v.CommitLsn, v.Position) };
                names.Add(new TableLineage.Name(v.Schema, v.Table, null));
            }
            // From the creating transaction's start (CREATE TABLE AS writes its rows before the trigger reports it).
            (long, long)? since = _versions[0].StartsLife && !_versions[0].Dropped ? (_versions[0].CommitLsn, 0) : null;
            return names.Count > 1 || since is not null ? new TableLineage(Source, names, since) : null;
        }
    }

    /// <summary>The version in force at the cut (the newest counted), or null when none is known.</summary>
    public SchemaVersion? Current => _versions.Count == 0 ? null : _versions[^1];

    /// <summary>
    /// Whether a row change at (<paramref name="commitLsn"/>, <paramref name="position"/>) belongs to the table's life at
    /// the cut: false when the table was dropped, or dropped and created again, after it.
    /// </summary>
    public bool InCurrentLife(long commitLsn, long position)
    {
        for (var i = _versions.Count - 1; i >= 0; i--)
            // The creating transaction's rows count whatever their place in it: CREATE TABLE AS writes them before
            // the command ends and the trigger reports it.
            if (_versions[i].StartsLife) return !_versions[i].Dropped && _versions[i].CommitLsn <= commitLsn;
        return true;
    }

    /// <summary>
    /// The image of a row change at (<paramref name="commitLsn"/>, <paramref name="position"/>) with the columns of the
    /// version in force at the cut; null when the columns are the same (the image stands as stored).
    /// </summary>
    public byte[]? Project(ReadOnlySpan<byte> image, long commitLsn, long position)
    {
        if (Current is not { Dropped: false } target) return null;
        var index = VersionAt(commitLsn, position);
        // An image older than every known version: the oldest one describes it if it is setup's snapshot (the columns
        // the table had when tracking began); after any other change, what came before is not known.
        if (index < 0)
        {
            if (_versions[0].CommandTag != "SNAPSHOT") return null;
            index = 0;
        }
        var source = _versions[index];
        if (ReferenceEquals(source, target) || SameColumns(source.Columns, target.Columns)) return null;

        if (JsonNode.Parse(image) is not JsonObject row) return null;
        var byAttnum = source.Columns.ToDictionary(c => c.Attnum);
        var projected = new JsonObject();
        foreach (var column in target.Columns)
        {
            if (byAttnum.TryGetValue(column.Attnum, out var then))
            {
                if (!row.TryGetPropertyValue(then.Name, out var value)) continue; // absent from the image (a generated column the server does not publish): still absent
                projected[column.Name] = then.Type == column.Type || KeepsValue(column.Attnum, index) ? value?.DeepClone()
                    : JsonNode.Parse(ImagePlaceholders.UnknownAfterSchemaChange);
                continue;
            }
            if (column.Generated) continue;
            projected[column.Name] = ValueOfAddedColumn(column.Attnum, index);
        }
        return JsonSerializer.SerializeToUtf8Bytes(projected);
    }

    /// <summary>
    /// Whether a value written under version <paramref name="from"/> reads the same after the column's retypes since:
    /// only widenings whose values PostgreSQL's cast keeps as they are, and no <c>USING</c> in their statements (an
    /// expression there could make anything of them). The rewrite logs no row, so anything else is not known.
    /// </summary>
    private bool KeepsValue(int attnum, int from)
    {
        var type = _versions[from].Columns.First(c => c.Attnum == attnum).Type;
        for (var i = from + 1; i < _versions.Count; i++)
        {
            if (_versions[i].Columns.FirstOrDefault(c => c.Attnum == attnum) is not { } now || now.Type == type) continue;
            if (!Widens(type, now.Type) || _versions[i].Statement?.Contains("USING", StringComparison.OrdinalIgnoreCase) != false) return false;
            type = now.Type;
        }
        return true;
    }

    private static bool Widens(string from, string to)
    {
        static int IntegerRank(string t) => t switch { "smallint" => 1, "integer" => 2, "bigint" => 3, _ => 0 };
        if (IntegerRank(from) > 0 && IntegerRank(to) > IntegerRank(from)) return true;
        var fromText = from is "text" || from.StartsWith("character varying", StringComparison.Ordinal);
        if (fromText && to is "text" or "character varying") return true;
        return from.StartsWith("numeric", StringComparison.Ordinal) && to == "numeric";
    }

    /// <summary>The value a row last written under version <paramref name="from"/> reads for a column added after it.</summary>
    private JsonNode? ValueOfAddedColumn(int attnum, int from)
    {
        for (var i = from + 1; i < _versions.Count; i++)
        {
            if (_versions[i].Columns.FirstOrDefault(c => c.Attnum == attnum) is not { } added) continue;
            if (added.Missing is not null) return added.Missing.DeepClone();
            // Added without a default: null. With a volatile one, PostgreSQL rewrote the table without logging the rows.
            return added.Default is null ? null : JsonNode.Parse(ImagePlaceholders.UnknownAfterSchemaChange);
        }
        return null;
    }

    private int VersionAt(long commitLsn, long position)
    {
        var index = -1;
        for (var i = 0; i < _versions.Count && _versions[i].Precedes(commitLsn, position); i++) index = i;
        return index;
    }

    private static bool SameColumns(IReadOnlyList<SchemaColumn> a, IReadOnlyList<SchemaColumn> b)
    {
        if (a.Count != b.Count) return false;
        for (var i = 0; i < a.Count; i++)
            if (a[i].Attnum != b[i].Attnum || a[i].Name != b[i].Name || a[i].Type != b[i].Type) return false;
        return true;
    }
}
