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
/// <see cref="ImagePlaceholders.UnknownAfterSchemaChange"/>. A retyped column keeps the value the image holds.
/// </remarks>
internal sealed class SchemaTimeline
{
    private readonly List<SchemaVersion> _versions;

    private SchemaTimeline(List<SchemaVersion> versions) => _versions = versions;

    /// <summary>No schema changes known: images are taken as they are.</summary>
    public static SchemaTimeline Empty { get; } = new([]);

    /// <summary>True when nothing is known of the table's columns.</summary>
    public bool IsEmpty => _versions.Count == 0;

    /// <summary>Reads the table's schema versions counted at <paramref name="cut"/>, oldest first.</summary>
    public static async Task<SchemaTimeline> ReadAsync(NpgsqlConnection conn, string source, string schema, string table, AsOfCut cut,
        CancellationToken ct)
    {
        var p = new ChangeSql.Parameters();
        var at = cut.Bind(p);
        var sql = $"""
            SELECT s.commit_lsn, s.position, s.command_tag, s.columns IS NULL, s.columns::text
            FROM hindsight.schema_changes s
            WHERE s."table" = {p.Add(table, NpgsqlTypes.NpgsqlDbType.Text)} AND s.schema = {p.Add(schema, NpgsqlTypes.NpgsqlDbType.Text)}
              AND s.source = {p.Add(source, NpgsqlTypes.NpgsqlDbType.Text)} AND {at.Counts("s")}
            ORDER BY s.commit_lsn, s.position
            """;
        var cmd = new NpgsqlCommand(sql, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var versions = new List<SchemaVersion>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            versions.Add(new SchemaVersion(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetBoolean(3),
                SchemaColumn.ParseMap(r.IsDBNull(4) ? null : r.GetString(4))));
        return new SchemaTimeline(versions);
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
            if (_versions[i].StartsLife) return !_versions[i].Dropped && _versions[i].Precedes(commitLsn, position);
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
                if (row.TryGetPropertyValue(then.Name, out var value)) projected[column.Name] = value?.DeepClone();
                continue; // absent from the image (a generated column the server does not publish): still absent
            }
            if (column.Generated) continue;
            projected[column.Name] = ValueOfAddedColumn(column.Attnum, index);
        }
        return JsonSerializer.SerializeToUtf8Bytes(projected);
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
            if (a[i].Attnum != b[i].Attnum || a[i].Name != b[i].Name) return false;
        return true;
    }
}
