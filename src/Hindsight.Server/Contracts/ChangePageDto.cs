using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>One page of changes (<c>GET /api/changes</c>).</summary>
/// <param name="Changes">The changes, in the order asked for.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> (same filter and order) for the next page; null on the last page.</param>
internal sealed record ChangePageDto(
    [property: JsonPropertyName("changes")] IReadOnlyList<ChangeDto> Changes,
    [property: JsonPropertyName("next_cursor")] long? NextCursor);
