namespace Hindsight.Model;

/// <summary>
/// One row change ready for the store: the stitched output of a source transaction.
/// JSON fields hold serialized JSON as UTF-8 bytes (<c>{}</c> where there is no image or context),
/// the form the store takes them in: they are never turned into .NET strings on the way.
/// </summary>
internal sealed record ChangeRecord
{
    /// <summary>Schema of the changed table.</summary>
    public required string Schema { get; init; }
    /// <summary>Name of the changed table (the partition root for partitioned tables).</summary>
    public required string Table { get; init; }
    /// <summary>Primary key as text; a composite key as a JSON array; null when the table has none.</summary>
    public string? PrimaryKey { get; init; }
    /// <summary>What happened.</summary>
    public required Operation Operation { get; init; }
    /// <summary>The row before the change, as <c>to_jsonb()</c> renders it.</summary>
    public required byte[] Before { get; init; }
    /// <summary>The row after the change, as <c>to_jsonb()</c> renders it.</summary>
    public required byte[] After { get; init; }
    /// <summary>The application context attributed to this change.</summary>
    public required byte[] Context { get; init; }
    /// <summary>LSN of the WAL record that carried the change.</summary>
    public required ulong Position { get; init; }
    /// <summary>When the worker read the change from the WAL.</summary>
    public required DateTime QueuedAt { get; init; }
}
