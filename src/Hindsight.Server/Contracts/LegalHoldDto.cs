using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>A legal hold: the changes it matches are never pruned.</summary>
/// <param name="Id">The hold's number.</param>
/// <param name="Source">Only this source's changes, or any (null).</param>
/// <param name="Schema">Only this schema's, or any.</param>
/// <param name="Table">Only this table's, or any.</param>
/// <param name="PrimaryKey">Only this row's, or any.</param>
/// <param name="Context">Only changes whose context contains this object, or any.</param>
/// <param name="Reason">Why it is held.</param>
/// <param name="CreatedAt">When it was placed (ISO 8601, UTC).</param>
/// <param name="CreatedBy">The database role that placed it.</param>
internal sealed record LegalHoldDto(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("source")] string? Source,
    [property: JsonPropertyName("schema")] string? Schema,
    [property: JsonPropertyName("table")] string? Table,
    [property: JsonPropertyName("primary_key")] string? PrimaryKey,
    [property: JsonPropertyName("context")] JsonObject? Context,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("created_at")] string CreatedAt,
    [property: JsonPropertyName("created_by")] string CreatedBy);
