using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>What the store keeps: the legal holds in place and the retention policies the worker applies.</summary>
/// <param name="Holds">The legal holds, oldest first.</param>
/// <param name="Policies">The retention policies, longest kept first.</param>
internal sealed record RetentionDto(
    [property: JsonPropertyName("holds")] IReadOnlyList<LegalHoldDto> Holds,
    [property: JsonPropertyName("policies")] IReadOnlyList<RetentionPolicyDto> Policies);

/// <summary>How long a table's changes are kept.</summary>
/// <param name="Schema">The table's schema (<c>*</c>: every table).</param>
/// <param name="Table">The table (<c>*</c>: every table).</param>
/// <param name="KeepSeconds">How long its changes are kept, in seconds.</param>
/// <param name="CreatedAt">When the policy was set (ISO 8601, UTC).</param>
/// <param name="CreatedBy">The database role that set it.</param>
internal sealed record RetentionPolicyDto(
    [property: JsonPropertyName("schema")] string Schema,
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("keep_seconds")] long KeepSeconds,
    [property: JsonPropertyName("created_at")] string CreatedAt,
    [property: JsonPropertyName("created_by")] string CreatedBy);
