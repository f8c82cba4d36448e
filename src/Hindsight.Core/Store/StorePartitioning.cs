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
    long DefaultPartitionChanges);
