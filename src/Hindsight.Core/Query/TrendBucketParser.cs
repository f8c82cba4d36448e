namespace Hindsight.Query;

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
