using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Npgsql.Replication.PgOutput.Messages;

namespace Hindsight.Capture;

/// <summary>
/// Schema changes read from pgoutput's relation messages, for a source without setup's schema change trigger (setup
/// ran without a superuser). pgoutput describes a table again after its schema changed, before its next row change: a
/// description whose columns differ from the last one becomes a schema change (tag <c>RELATION</c>) with no statement
/// and no role, at the point of that next row change rather than of the DDL.
/// </summary>
/// <remarks>
/// Relation messages carry column names and types, not column numbers. A name the last description had keeps its
/// number; a new name takes its number from the source's catalog today (so a rename shows as a rename when the worker
/// is not behind by another change of that column), or, when the catalog no longer has it, a number of its own (it then
/// reads as a column added). Generated columns, which pgoutput does not send before PostgreSQL 18, come from the last
/// description and the catalog, as setup's snapshot has them.
/// </remarks>
internal sealed class RelationSchema(NpgsqlDataSource source)
{
    // A number for a column the catalog no longer has by that name: past any real attnum (at most 1,600).
    private const int UnknownAttnumBase = 10_000;

    private readonly Dictionary<uint, List<JsonObject>> _last = new();

    /// <summary>Records a description of a table (a schema change's column map, stored or read from the WAL): the next
    /// relation message is compared with it.</summary>
    public void Remember(uint relationId, JsonArray columns) => _last[relationId] = columns.OfType<JsonObject>().Select(c => (JsonObject)c.DeepClone()).ToList();

    /// <summary>The schema change message for <paramref name="message"/>, or null when the table's columns are as last
    /// described.</summary>
    public async ValueTask<byte[]?> ChangedAsync(RelationMessage message, CancellationToken ct)
    {
        var names = message.Columns.Select(c => c.ColumnName).ToArray();
        var catalog = await CatalogAsync(message.RelationId, names, ct).ConfigureAwait(false);
        var last = _last.TryGetValue(message.RelationId, out var l) ? l : [];
        var lastByName = last.ToDictionary(c => c["name"]!.GetValue<string>(), StringComparer.Ordinal);

        var columns = new List<JsonObject>();
        for (var i = 0; i < names.Length; i++)
        {
            var name = names[i];
            var now = catalog.GetValueOrDefault(name);
            if (lastByName.TryGetValue(name, out var then))
                // The same column, unless the catalog has that name under another number (dropped and added again).
                columns.Add(now is not null && Attnum(now) == Attnum(then) ? now : (JsonObject)then.DeepClone());
            else
                columns.Add(now ?? new JsonObject { ["attnum"] = UnknownAttnumBase + i, ["name"] = name, ["type"] = "unknown", ["not_null"] = false, ["generated"] = false });
        }
        // Generated columns pgoutput did not send: as last described, or as the catalog has them now.
        var sent = columns.Select(Attnum).ToHashSet();
        foreach (var g in last.Where(c => c["generated"]?.GetValue<bool>() == true).Concat(catalog.Values.Where(c => c["generated"]!.GetValue<bool>())))
            if (sent.Add(Attnum(g))) columns.Add((JsonObject)g.DeepClone());
        columns.Sort((a, b) => Attnum(a).CompareTo(Attnum(b)));

        if (last.Count > 0 && Signature(last) == Signature(columns)) return null;
        _last[message.RelationId] = columns;
        var payload = new JsonObject
        {
            ["v"] = 1, ["tag"] = "RELATION", ["identity"] = Postgres.PgNames.Quote(message.Namespace, message.RelationName),
            ["relid"] = (long)message.RelationId, ["schema"] = message.Namespace, ["table"] = message.RelationName,
            ["columns"] = new JsonArray([.. columns.Select(c => (JsonNode)c.DeepClone())]),
        };
        return Encoding.UTF8.GetBytes(payload.ToJsonString());
    }

    /// <summary>The catalog's columns today with these names, and the generated ones, by name.</summary>
    private async Task<Dictionary<string, JsonObject>> CatalogAsync(uint relationId, string[] names, CancellationToken ct)
    {
        var cmd = source.CreateCommand(
            """
            SELECT a.attname::text, a.attnum::int, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
                   a.attgenerated <> '', CASE WHEN a.atthasmissing THEN (to_jsonb(a.attmissingval) -> 0)::text END
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND (a.attname = ANY($2) OR a.attgenerated <> '')
            """);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = relationId, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid });
        cmd.Parameters.AddWithValue(names);
        var found = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            var column = new JsonObject
            {
                ["attnum"] = r.GetInt32(1), ["name"] = r.GetString(0), ["type"] = r.GetString(2), ["not_null"] = r.GetBoolean(3),
                ["default"] = r.IsDBNull(4) ? null : r.GetString(4), ["generated"] = r.GetBoolean(5),
            };
            if (!r.IsDBNull(6)) column["missing"] = JsonNode.Parse(r.GetString(6));
            found[r.GetString(0)] = column;
        }
        return found;
    }

    private static int Attnum(JsonObject column) => column["attnum"]?.GetValue<int>() ?? 0;

    /// <summary>Numbers, names and types in number order: what a change of the description is judged by.</summary>
    private static string Signature(IEnumerable<JsonObject> columns) =>
        string.Join('\u0001', columns.OrderBy(Attnum).Select(c => $"{Attnum(c)}\u0002{c["name"]?.GetValue<string>()}\u0002{c["type"]?.GetValue<string>()}"));
}
