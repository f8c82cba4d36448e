using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>The schema changes matching a filter (<c>GET /api/schema-changes</c>).</summary>
/// <param name="SchemaChanges">The changes, newest first; at most the limit asked for.</param>
internal sealed record SchemaChangeListDto(
    [property: JsonPropertyName("schema_changes")] IReadOnlyList<SchemaChangeDto> SchemaChanges);
