namespace Hindsight.Query;

/// <summary>How one column differs between two row images.</summary>
public enum ColumnChangeKind
{
    /// <summary>The column is in the new image only (a new row, or a column added to the table).</summary>
    Added,
    /// <summary>The column is in the old image only (a removed row, or a column dropped from the table).</summary>
    Removed,
    /// <summary>The column is in both images with values that differ as jsonb values.</summary>
    Changed,
}
