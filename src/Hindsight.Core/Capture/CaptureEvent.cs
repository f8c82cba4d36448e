using Hindsight.Model;

namespace Hindsight.Capture;

/// <summary>
/// A pgoutput message copied out of the replication stream (Npgsql reuses its message objects,
/// so everything needed later is materialised here). Capture produces these; Stitch consumes them.
/// </summary>
internal abstract record CaptureEvent;

/// <summary>BEGIN of a transaction sent whole at commit time.</summary>
internal sealed record BeginEvent(uint Xid, ulong CommitLsn, DateTime CommittedAt) : CaptureEvent;

/// <summary>COMMIT of a transaction sent whole; <paramref name="EndLsn"/> is what the slot may be acknowledged with.</summary>
internal sealed record CommitEvent(ulong CommitLsn, ulong EndLsn, DateTime CommittedAt) : CaptureEvent;

/// <summary>An INSERT, UPDATE or DELETE of one row.</summary>
/// <param name="StreamXid">The (sub)transaction id when the change belongs to a streamed transaction, else null.</param>
/// <param name="Relation">The table, as described by the last relation message before this change.</param>
/// <param name="Operation">Create, Update or Delete.</param>
/// <param name="Old">The old tuple (whole under REPLICA IDENTITY FULL, key columns only for a key tuple), or null.</param>
/// <param name="OldIsKeyOnly">True when <paramref name="Old"/> is a key tuple (non-key columns are absent, not NULL).</param>
/// <param name="New">The new tuple, or null for a delete.</param>
/// <param name="Position">LSN of the WAL record.</param>
/// <param name="QueuedAt">When the worker read it.</param>
internal sealed record RowEvent(
    uint? StreamXid, RelationInfo Relation, Operation Operation,
    ColumnValue[]? Old, bool OldIsKeyOnly, ColumnValue[]? New,
    ulong Position, DateTime QueuedAt) : CaptureEvent;

/// <summary>A TRUNCATE of one or more tables.</summary>
internal sealed record TruncateEvent(uint? StreamXid, IReadOnlyList<RelationInfo> Relations, ulong Position, DateTime QueuedAt) : CaptureEvent;

/// <summary>A transactional logical decoding message with a context prefix (<see cref="ReplicationReader.ContextPrefixes"/>).</summary>
/// <param name="StreamXid">The (sub)transaction id when streamed, else null.</param>
/// <param name="Prefix">The message prefix.</param>
/// <param name="Payload">The first bytes of the payload (at most the size limit + 1, so oversize is detectable).</param>
/// <param name="Length">The payload's full length in bytes.</param>
internal sealed record ContextMessageEvent(uint? StreamXid, string Prefix, byte[] Payload, long Length) : CaptureEvent;

/// <summary>A schema change message (<see cref="SchemaMessage.Prefix"/>), transactional.</summary>
/// <param name="StreamXid">The transaction id when streamed, else null.</param>
/// <param name="Payload">The payload, or null when it was larger than <see cref="SchemaMessage.MaxLength"/>.</param>
/// <param name="Position">LSN of the message.</param>
internal sealed record SchemaMessageEvent(uint? StreamXid, byte[]? Payload, ulong Position) : CaptureEvent;

/// <summary>Start of a block of changes of an in-progress (streamed) transaction.</summary>
internal sealed record StreamStartEvent(uint Xid, bool FirstSegment) : CaptureEvent;

/// <summary>End of a block of streamed changes.</summary>
internal sealed record StreamStopEvent : CaptureEvent;

/// <summary>Commit of a streamed transaction.</summary>
internal sealed record StreamCommitEvent(uint Xid, ulong CommitLsn, ulong EndLsn, DateTime CommittedAt) : CaptureEvent;

/// <summary>Abort of a streamed transaction (<paramref name="SubXid"/> = <paramref name="Xid"/>) or one of its subtransactions.</summary>
internal sealed record StreamAbortEvent(uint Xid, uint SubXid) : CaptureEvent;

/// <summary>Not a message: the reader has handed over everything it read and is waiting for the source (see
/// <see cref="CaptureBatcher"/>). The stream is quiet between transactions.</summary>
internal sealed record ReaderIdleEvent : CaptureEvent
{
    /// <summary>The one instance.</summary>
    public static ReaderIdleEvent Instance { get; } = new();

    private ReaderIdleEvent() { }
}
