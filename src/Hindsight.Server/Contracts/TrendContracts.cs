using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>One count of a trend.</summary>
/// <param name="Bucket">Start of the time bucket (UTC).</param>
/// <param name="Group">The table, operation, source or context value; null for changes without the context key.</param>
/// <param name="Count">Changes in the bucket and group.</param>
internal sealed record TrendPointDto(
    [property: JsonPropertyName("bucket")] string Bucket,
    [property: JsonPropertyName("group")] string? Group,
    [property: JsonPropertyName("count")] long Count);

/// <summary>Counts of changes per time bucket and group (<c>GET /api/trends</c>).</summary>
/// <param name="Bucket">minute, hour, day or week.</param>
/// <param name="By">table, operation, source or context:KEY.</param>
/// <param name="Points">The counts, by bucket then group.</param>
internal sealed record TrendsDto(
    [property: JsonPropertyName("bucket")] string Bucket,
    [property: JsonPropertyName("by")] string By,
    [property: JsonPropertyName("points")] IReadOnlyList<TrendPointDto> Points);
