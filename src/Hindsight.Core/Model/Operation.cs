namespace Hindsight.Model;

/// <summary>The kind of row change, as stored in <c>hindsight.changes.operation</c>.</summary>
public enum Operation
{
    /// <summary>A row was inserted.</summary>
    Create,
    /// <summary>A row was updated.</summary>
    Update,
    /// <summary>A row was deleted.</summary>
    Delete,
    /// <summary>A table was truncated (one change per table).</summary>
    Truncate,
    /// <summary>A baseline row that existed before tracking began.</summary>
    Snapshot,
}
