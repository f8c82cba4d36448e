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

/// <summary>Text forms of <see cref="Operation"/> used in the store.</summary>
public static class OperationNames
{
    /// <summary>The stored name (CREATE, UPDATE, DELETE, TRUNCATE, SNAPSHOT).</summary>
    public static string ToStored(this Operation op) => op switch
    {
        Operation.Create => "CREATE",
        Operation.Update => "UPDATE",
        Operation.Delete => "DELETE",
        Operation.Truncate => "TRUNCATE",
        Operation.Snapshot => "SNAPSHOT",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
