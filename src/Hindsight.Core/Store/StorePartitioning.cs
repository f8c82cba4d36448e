namespace Hindsight.Store;

/// <summary>How the store's change table is partitioned.</summary>
/// <param name="Period">The period new partitions span.</param>
/// <param name="Partitioned">Whether <c>hindsight.changes</c> is partitioned at all (a store from before partitioning
/// stays unpartitioned until <c>setup --partition</c>).</param>
/// <param name="Partitions">How many partitions cover a range of commit times (the default partition not counted).</param>
/// <param name="From">Where the first partition starts.</param>
/// <param name="To">Where the last partition ends: changes committed later go to the default partition until the
/// worker makes one for them.</param>
/// <param name="DefaultPartitionChanges">Changes in the default partition, waiting for a partition of their own.</param>
public sealed record StorePartitioning(
    PartitionPeriod Period,
    bool Partitioned,
    int Partitions,
    DateTimeOffset? From,
    DateTimeOffset? To,
    long DefaultPartitionChanges)
{
    /// <summary>In words: <c>by month of commit time (UTC): 3 partitions between 2026-12-01 and 2027-03-01</c>, or how to
    /// partition a store that is not.</summary>
    public string Describe() => !Partitioned
        ? $"none: the store's changes are in one table; `hindsight setup --partition {ChangePartitions.Name(Period)}` partitions it by commit time " +
          "(it copies the changes while the worker goes on, then swaps the tables; docs/store.md)"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"by {ChangePartitions.Name(Period)} of commit time (UTC): {Partitions} partition{(Partitions == 1 ? "" : "s")} between {From?.UtcDateTime:yyyy-MM-dd} and {To?.UtcDateTime:yyyy-MM-dd}");
}
