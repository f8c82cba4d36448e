namespace Hindsight.Model;

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
