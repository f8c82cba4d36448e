namespace Hindsight.Store;

/// <summary>How much commit time one partition of the change store spans (<c>setup --partition</c>). Periods start at
/// midnight UTC; a week starts on Monday.</summary>
public enum PartitionPeriod
{
    /// <summary>One partition per day.</summary>
    Day,

    /// <summary>One partition per ISO week (Monday to Sunday).</summary>
    Week,

    /// <summary>One partition per calendar month (the default).</summary>
    Month,
}
