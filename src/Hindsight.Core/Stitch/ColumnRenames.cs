using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Capture;

namespace Hindsight.Stitch;

/// <summary>
/// Brings a row's last stored image up to its table's columns now, for the images the stitcher borrows from the store
/// (the before-image of an UPDATE or DELETE under REPLICA IDENTITY DEFAULT, and unchanged TOAST values): a column
/// renamed since is put under its new name, one dropped since goes, and one added since takes the value PostgreSQL gives
/// rows written before it (its constant default, or null), so the borrowed image is <c>to_jsonb()</c> of the row then.
/// </summary>
/// <remarks>
/// Learnt from the schema changes in the WAL (and, at start, those stored), which number columns: a name's later names
/// are followed through every rename. An image does not say when it was written, so a name in use now is taken as the
/// column of that name now (a column renamed away and its old name given to a new column is the one case read wrong).
/// </remarks>
internal sealed class ColumnRenames
{
    private readonly Dictionary<uint, Table> _tables = new();

    private sealed class Table
    {
        public Dictionary<int, JsonObject> Columns { get; set; } = new();
        public Dictionary<string, int> EverNamed { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Takes a table's columns after a schema change (a column map with attnums), in WAL order.</summary>
    public void Observe(uint relationId, JsonArray columns)
    {
        if (!_tables.TryGetValue(relationId, out var table)) _tables[relationId] = table = new Table();
        var now = new Dictionary<int, JsonObject>();
        foreach (var c in columns.OfType<JsonObject>())
        {
            if (c["attnum"]?.GetValue<int>() is not { } attnum || c["name"]?.GetValue<string>() is not { } name) continue;
            now[attnum] = c;
            table.EverNamed[name] = attnum;
        }
        // A column added now: rows written before read its constant default, or null.
        table.Columns = now;
    }

    /// <summary>The image with the table's columns now, or the image itself when nothing is known or nothing differs.</summary>
    public JsonElement Apply(RelationInfo relation, JsonElement image)
    {
        if (!_tables.TryGetValue(relation.Id, out var table) || image.ValueKind != JsonValueKind.Object) return image;
        var names = relation.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in image.EnumerateObject()) held.Add(p.Name);
        if (held.SetEquals(names)) return image;

        var result = new JsonObject();
        foreach (var p in image.EnumerateObject())
        {
            if (names.Contains(p.Name)) { result[p.Name] = JsonNode.Parse(p.Value.GetRawText()); continue; }
            // Renamed since: the same column number under its name now. Dropped since: gone.
            if (table.EverNamed.TryGetValue(p.Name, out var attnum) && table.Columns.TryGetValue(attnum, out var column)
                && column["name"]?.GetValue<string>() is { } renamed && names.Contains(renamed) && !held.Contains(renamed))
                result[renamed] = JsonNode.Parse(p.Value.GetRawText());
        }
        foreach (var c in table.Columns.Values)
        {
            if (c["name"]?.GetValue<string>() is not { } name || result.ContainsKey(name) || !names.Contains(name)) continue;
            if (c.TryGetPropertyValue("missing", out var missing)) result[name] = missing?.DeepClone();
            else if (c["default"] is null && c["generated"]?.GetValue<bool>() != true) result[name] = null;
        }
        using var doc = JsonDocument.Parse(result.ToJsonString());
        return doc.RootElement.Clone();
    }
}
