using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>Counts of changes per time bucket and group (<c>GET /api/trends</c>).</summary>
/// <param name="Bucket">minute, hour, day or week.</param>
/// <param name="By">table, operation, source or context:KEY.</param>
/// <param name="Points">The counts, by bucket then group.</param>
internal sealed record TrendsDto(
    [property: JsonPropertyName("bucket")] string Bucket,
    [property: JsonPropertyName("by")] string By,
    [property: JsonPropertyName("points")] IReadOnlyList<TrendPointDto> Points);
