namespace Hindsight.Query;

/// <summary>One count of a trend.</summary>
/// <param name="Bucket">Start of the time bucket (UTC).</param>
/// <param name="Group">The table (schema.table), operation or context value; null for changes without the context key.</param>
/// <param name="Count">Changes in the bucket and group.</param>
public sealed record TrendPoint(DateTimeOffset Bucket, string? Group, long Count);
