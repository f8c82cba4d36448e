namespace Hindsight.Model;

/// <summary>
/// One schema change of a tracked table (or the columns setup found it with), ready for the store: what the source's
/// event trigger put in the WAL (<see cref="Capture.SchemaMessage"/>), with the context of its transaction.
/// </summary>
internal sealed record SchemaChangeRecord
{
    /// <summary>The command tag (<c>ALTER TABLE</c>, <c>DROP TABLE</c>…), or <c>SNAPSHOT</c> for setup's description.</summary>
    public required string Tag { get; init; }
    /// <summary>The object the command named, as PostgreSQL identifies it (a column for a rename of one).</summary>
    public string? Identity { get; init; }
    /// <summary>The table's OID in the source: the same table across renames, another after a drop and re-create.</summary>
    public required long Relid { get; init; }
    /// <summary>The table's schema after the command.</summary>
    public required string Schema { get; init; }
    /// <summary>The table's name after the command.</summary>
    public required string Table { get; init; }
    /// <summary>The session's role.</summary>
    public string? Role { get; init; }
    /// <summary>The statement as the client sent it (null for a snapshot).</summary>
    public string? Statement { get; init; }
    /// <summary>True when the statement was longer than the trigger keeps.</summary>
    public bool StatementTruncated { get; init; }
    /// <summary>True for a dropped table (no columns).</summary>
    public bool Dropped { get; init; }
    /// <summary>The columns after the command, as a JSON array, or null for a dropped table.</summary>
    public string? Columns { get; init; }
    /// <summary>The rest of the message (relkind, partitions), as a JSON object.</summary>
    public required string Detail { get; init; }
    /// <summary>The (sub)transaction that ran the command, as the trigger found it: what a streamed transaction's
    /// savepoint rollback discards by.</summary>
    public uint? Xid { get; init; }
    /// <summary>The application context of the transaction at the command.</summary>
    public required byte[] Context { get; init; }
    /// <summary>LSN of the message: orders it among the transaction's row changes.</summary>
    public required ulong Position { get; init; }
}
