namespace Hindsight.Query;

/// <summary>The width of a trend's time buckets (<see cref="ChangeTrends"/>).</summary>
public enum TrendBucket
{
    /// <summary>One minute.</summary>
    Minute,
    /// <summary>One hour.</summary>
    Hour,
    /// <summary>One day (UTC).</summary>
    Day,
    /// <summary>One ISO week, Monday to Sunday (UTC).</summary>
    Week,
}

/// <summary>What a trend counts per bucket: one series per table, per operation, per source, or per value of a context key.</summary>
public sealed record TrendGrouping
{
    private TrendGrouping(TrendGroupKind kind, string? contextKey) => (Kind, ContextKey) = (kind, contextKey);

    /// <summary>Which dimension.</summary>
    public TrendGroupKind Kind { get; }

    /// <summary>The top-level context key for <see cref="TrendGroupKind.Context"/>; null otherwise.</summary>
    public string? ContextKey { get; }

    /// <summary>One series per table (schema.table).</summary>
    public static TrendGrouping ByTable { get; } = new(TrendGroupKind.Table, null);

    /// <summary>One series per operation.</summary>
    public static TrendGrouping ByOperation { get; } = new(TrendGroupKind.Operation, null);

    /// <summary>One series per source (a tracked database of the store, by its name).</summary>
    public static TrendGrouping BySource { get; } = new(TrendGroupKind.Source, null);

    /// <summary>One series per value of a top-level context key (changes without the key form the null series).</summary>
    /// <exception cref="ArgumentException">The key is empty.</exception>
    public static TrendGrouping ByContext(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0) throw new ArgumentException("the context key must not be empty", nameof(key));
        return new(TrendGroupKind.Context, key);
    }

    /// <summary>Parses <c>table</c>, <c>operation</c>, <c>source</c> or <c>context:KEY</c> (the key is taken verbatim after the colon).</summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static TrendGrouping Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("context:", StringComparison.OrdinalIgnoreCase)) return ByContext(text["context:".Length..]);
        return text.Trim().ToLowerInvariant() switch
        {
            "table" => ByTable,
            "operation" => ByOperation,
            "source" => BySource,
            _ => throw new ArgumentException($"unknown grouping '{text}' (use table, operation, source or context:KEY)", "by"),
        };
    }
}

/// <summary>The dimensions a trend can be grouped by.</summary>
public enum TrendGroupKind
{
    /// <summary>schema.table.</summary>
    Table,
    /// <summary>CREATE, UPDATE, DELETE, TRUNCATE, SNAPSHOT.</summary>
    Operation,
    /// <summary>The value of one top-level context key.</summary>
    Context,
    /// <summary>The source (a tracked database of the store, by its name).</summary>
    Source,
}

/// <summary>Reads bucket names as users type them.</summary>
public static class TrendBucketParser
{
    /// <summary>Parses minute, hour, day or week, in any letter case.</summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static TrendBucket Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "minute" => TrendBucket.Minute,
            "hour" => TrendBucket.Hour,
            "day" => TrendBucket.Day,
            "week" => TrendBucket.Week,
            _ => throw new ArgumentException($"unknown bucket '{text}' (use minute, hour, day or week)", "bucket"),
        };
    }

    /// <summary>The <c>date_trunc</c> field of a bucket.</summary>
    internal static string Field(TrendBucket bucket) => bucket switch
    {
        TrendBucket.Minute => "minute",
        TrendBucket.Hour => "hour",
        TrendBucket.Day => "day",
        TrendBucket.Week => "week",
        _ => throw new ArgumentOutOfRangeException(nameof(bucket), bucket, "unknown bucket"),
    };
}

/// <summary>One count of a trend.</summary>
/// <param name="Bucket">Start of the time bucket (UTC).</param>
/// <param name="Group">The table (schema.table), operation or context value; null for changes without the context key.</param>
/// <param name="Count">Changes in the bucket and group.</param>
public sealed record TrendPoint(DateTimeOffset Bucket, string? Group, long Count);
