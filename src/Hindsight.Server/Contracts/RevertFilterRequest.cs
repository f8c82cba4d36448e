using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>The changes to revert, as <c>GET /api/changes</c> filters them (at least one criterion).</summary>
internal sealed record RevertFilterRequest
{
    /// <summary>Tables (table, schema.table, "Quoted Name").</summary>
    [JsonPropertyName("tables")] public IReadOnlyList<string>? Tables { get; init; }
    /// <summary>One row's primary key as stored.</summary>
    [JsonPropertyName("key")] public string? Key { get; init; }
    /// <summary>Operations: CREATE, UPDATE, DELETE.</summary>
    [JsonPropertyName("operations")] public IReadOnlyList<string>? Operations { get; init; }
    /// <summary>Committed at or after (ISO 8601).</summary>
    [JsonPropertyName("since")] public string? Since { get; init; }
    /// <summary>Committed before (ISO 8601).</summary>
    [JsonPropertyName("until")] public string? Until { get; init; }
    /// <summary>Source transaction (xid).</summary>
    [JsonPropertyName("transaction")] public long? Transaction { get; init; }
    /// <summary>JSON object the context must contain.</summary>
    [JsonPropertyName("context")] public JsonNode? Context { get; init; }
    /// <summary>JSON object the row before must contain.</summary>
    [JsonPropertyName("before")] public JsonNode? Before { get; init; }
    /// <summary>JSON object the row after must contain.</summary>
    [JsonPropertyName("after")] public JsonNode? After { get; init; }
}
