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
