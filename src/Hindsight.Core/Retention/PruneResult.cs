namespace Hindsight.Retention;

/// <summary>What a prune removed (or, dry, would remove).</summary>
/// <param name="Horizon">Changes committed before this moment were pruned.</param>
/// <param name="DryRun">Whether nothing was changed.</param>
/// <param name="Tables">Per table that lost changes: how many, the rows folded into SNAPSHOT changes, the changes held.</param>
/// <param name="DroppedPartitions">Partitions dropped whole (empty on a dry run).</param>
public sealed record PruneResult(DateTimeOffset Horizon, bool DryRun, IReadOnlyList<PrunedTable> Tables, IReadOnlyList<string> DroppedPartitions)
{
    /// <summary>Changes pruned over every table.</summary>
    public long Pruned => Tables.Sum(t => t.Pruned);

    /// <summary>SNAPSHOT changes written over every table: one per row that existed at the horizon.</summary>
    public long Folded => Tables.Sum(t => t.Folded);
}

/// <summary>One table's part of a prune.</summary>
/// <param name="Source">The source.</param>
/// <param name="Schema">The table's schema.</param>
/// <param name="Table">The table.</param>
/// <param name="Pruned">Changes removed.</param>
/// <param name="Folded">Rows that existed at the horizon, each now one SNAPSHOT change at the horizon.</param>
/// <param name="Held">Changes before the horizon a legal hold kept.</param>
public sealed record PrunedTable(string Source, string Schema, string Table, long Pruned, long Folded, long Held);
