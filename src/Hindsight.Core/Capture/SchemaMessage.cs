using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Model;

namespace Hindsight.Capture;

/// <summary>
/// The logical decoding message the source's schema change trigger emits (<see cref="Setup.SchemaChangeTrigger"/>):
/// its prefix, and how its JSON payload becomes a <see cref="SchemaChangeRecord"/>.
/// </summary>
internal static class SchemaMessage
{
    /// <summary>The message prefix. Distinct from the context prefix, so no context reader mistakes one for the other.</summary>
    public const string Prefix = "hindsight.schema";

    /// <summary>Payloads larger than this are not read (the trigger cuts statements at 1 MiB; 1,600 columns fit easily).</summary>
    public const int MaxLength = 16 << 20;

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "v", "tag", "identity", "relid", "schema", "table", "role", "statement", "statement_truncated", "dropped", "columns", "xid",
    };

    /// <summary>Reads a payload; null when it is not a schema message this version understands (it is then not stored).</summary>
    public static SchemaChangeRecord? Parse(ReadOnlySpan<byte> payload, byte[] context, ulong position)
    {
        JsonObject message;
        try
        {
            if (JsonNode.Parse(payload) is not JsonObject parsed) return null;
            message = parsed;
        }
        catch (JsonException)
        {
            return null;
        }
        if (Text(message, "tag") is not { } tag || Text(message, "schema") is not { } schema || Text(message, "table") is not { } table
            || message["relid"] is not JsonValue relidValue || !relidValue.TryGetValue(out long relid))
            return null;
        var detail = new JsonObject();
        foreach (var (name, value) in message)
            if (!Known.Contains(name)) detail[name] = value?.DeepClone();
        return new SchemaChangeRecord
        {
            Tag = tag, Identity = Text(message, "identity"), Relid = relid, Schema = schema, Table = table,
            Role = Text(message, "role"), Statement = Text(message, "statement"),
            StatementTruncated = Flag(message, "statement_truncated"), Dropped = Flag(message, "dropped"),
            Xid = message["xid"] is JsonValue xidValue && xidValue.TryGetValue(out long xid) && xid is > 0 and <= uint.MaxValue ? (uint)xid : null,
            Columns = message["columns"] is JsonArray columns ? columns.ToJsonString() : null,
            Detail = detail.ToJsonString(), Context = context, Position = position,
        };
    }

    /// <summary>
    /// The table, primary key columns and columns a payload names (null for a payload this version does not read): the
    /// key as it was when the WAL was written, which the catalog no longer tells once the table is dropped or its key
    /// column renamed, and the columns relation messages are compared with.
    /// </summary>
    public static (uint Relid, string[]? Key, JsonArray? Columns)? Describe(ReadOnlySpan<byte> payload)
    {
        try
        {
            if (JsonNode.Parse(payload) is not JsonObject message || message["relid"] is not JsonValue relidValue
                || !relidValue.TryGetValue(out long relid) || relid is <= 0 or > uint.MaxValue)
                return null;
            var key = message["primary_key"] is JsonArray k ? k.Select(n => n?.GetValue<string>() ?? "").ToArray() : null;
            return ((uint)relid, key, message["columns"] as JsonArray);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static string? Text(JsonObject o, string name) =>
        o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static bool Flag(JsonObject o, string name) =>
        o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.True;
}
