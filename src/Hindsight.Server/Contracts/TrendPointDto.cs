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
