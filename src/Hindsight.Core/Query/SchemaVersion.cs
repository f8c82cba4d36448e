using System.Text.Json.Nodes;

namespace Hindsight.Query;

/// <summary>One column of a table as a schema change left it (an element of <c>hindsight.schema_changes.columns</c>).</summary>
/// <param name="Attnum">Its number in the source: the same column across renames and retypes.</param>
/// <param name="Name">Its name.</param>
/// <param name="Type">Its type, as <c>format_type()</c> gives it.</param>
/// <param name="NotNull">Whether it is NOT NULL.</param>
/// <param name="Default">Its default (or generation) expression, or null.</param>
/// <param name="Generated">Whether it is a generated column.</param>
/// <param name="Missing">For a column added with a constant default: the value rows written before it read
/// (as <c>to_jsonb()</c> renders it); null otherwise.</param>
internal sealed record SchemaColumn(int Attnum, string Name, string Type, bool NotNull, string? Default, bool Generated, JsonNode? Missing)
{
    /// <summary>Reads a column map (a JSON array), in attnum order.</summary>
    public static IReadOnlyList<SchemaColumn> ParseMap(string? json)
    {
        if (json is null || JsonNode.Parse(json) is not JsonArray array) return [];
        var columns = new List<SchemaColumn>(array.Count);
        foreach (var node in array)
        {
            if (node is not JsonObject c) continue;
            columns.Add(new SchemaColumn(
                c["attnum"]?.GetValue<int>() ?? 0, c["name"]?.GetValue<string>() ?? "", c["type"]?.GetValue<string>() ?? "",
                c["not_null"]?.GetValue<bool>() ?? false, c["default"]?.GetValue<string>(), c["generated"]?.GetValue<bool>() ?? false,
                c.TryGetPropertyValue("missing", out var missing) ? missing?.DeepClone() ?? JsonValue.Create((string?)null) : null));
        }
        columns.Sort((a, b) => a.Attnum.CompareTo(b.Attnum));
        return columns;
    }

    /// <summary>This column as the public API shows it.</summary>
    public TableColumn ToPublic() => new(Attnum, Name, Type, NotNull, Default, Generated);
}

/// <summary>A table's columns from one schema change (or setup's snapshot) on, until the next.</summary>
/// <param name="CommitLsn">The commit LSN of the schema change's transaction.</param>
/// <param name="Position">Where the schema change's message ends in the WAL: row changes of the same transaction that start
/// before it had the columns before it.</param>
/// <param name="CommandTag">Its command tag (<c>SNAPSHOT</c> for setup's description).</param>
/// <param name="Dropped">Whether the table was dropped.</param>
/// <param name="Columns">The columns, in attnum order (empty when dropped).</param>
internal sealed record SchemaVersion(long CommitLsn, long Position, string CommandTag, bool Dropped, IReadOnlyList<SchemaColumn> Columns)
{
    /// <summary>The table's schema after this change.</summary>
    public string Schema { get; init; } = "";

    /// <summary>The table's name after this change.</summary>
    public string Table { get; init; } = "";

    /// <summary>The statement that made it (null for setup's snapshot).</summary>
    public string? Statement { get; init; }

    /// <summary>Whether this version starts a new life of the table name (a create or a drop): rows from before are not its rows.</summary>
    public bool StartsLife => Dropped || CommandTag.StartsWith("CREATE", StringComparison.Ordinal) || CommandTag == "SELECT INTO";

    /// <summary>True when a change at (<paramref name="commitLsn"/>, <paramref name="position"/>) came after this version.</summary>
    /// <remarks>A message's position is where its WAL record ends, a row change's where its record starts: the change
    /// right after the message has the message's position.</remarks>
    public bool Precedes(long commitLsn, long position) => CommitLsn < commitLsn || (CommitLsn == commitLsn && Position <= position);
}
