using System.Globalization;
using System.Text.Json;
using Hindsight.Sink;
using NATS.Client.Core;

namespace Hindsight.Queue;

/// <summary>
/// The schema changes of one source transaction on the queue (rare and small: JSON, one message). The ingester writes
/// them into <c>hindsight.schema_changes</c> as capture numbered them; the store's key drops a resend.
/// </summary>
internal static class SchemaChangeMessage
{
    /// <summary>The format this code writes and reads.</summary>
    public const string Format = "schema-changes-json-v1";

    private static readonly JsonSerializerOptions Json = new() { IncludeFields = false };

    /// <summary>The headers and body of a transaction's schema changes.</summary>
    public static (NatsHeaders Headers, byte[] Body) Create(string source, string database, string slot, ulong commitLsn, IReadOnlyList<PendingSchemaChange> changes)
    {
        var headers = new NatsHeaders
        {
            ["Nats-Msg-Id"] = string.Create(CultureInfo.InvariantCulture, $"{source}:{commitLsn:X16}:schema"),
            ["Hindsight-Format"] = Format,
            ["Hindsight-Source"] = source,
            ["Hindsight-Database"] = database,
            ["Hindsight-Slot"] = slot,
            ["Hindsight-Commit-Lsn"] = commitLsn.ToString("X16", CultureInfo.InvariantCulture),
        };
        return (headers, JsonSerializer.SerializeToUtf8Bytes(changes, Json));
    }

    /// <summary>Reads the schema changes back.</summary>
    /// <exception cref="FormatException">The body is not what <see cref="Create"/> writes.</exception>
    public static IReadOnlyList<PendingSchemaChange> Read(ReadOnlyMemory<byte> body)
    {
        try { return JsonSerializer.Deserialize<PendingSchemaChange[]>(body.Span, Json) ?? throw new FormatException("a schema change message without changes"); }
        catch (JsonException e) { throw new FormatException($"a malformed schema change message: {e.Message}", e); }
    }
}
