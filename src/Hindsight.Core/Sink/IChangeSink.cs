using System.Text.Json;
using Hindsight.Model;

namespace Hindsight.Sink;

/// <summary>
/// Where the stitcher hands the change records of committed source transactions, and how it learns what is durable.
/// The store (<see cref="PostgresChangeSink"/>) is one implementation; a queue can be another.
/// </summary>
/// <remarks>
/// The stitcher calls these between and within source transactions in WAL order, on one thread. An implementation makes
/// changes durable only at <see cref="CommitAsync"/>, atomically with its own record of progress, so that a transaction is
/// either wholly durable with its end LSN or not at all: that is what lets a restart resume from the slot without losing
/// or repeating a change.
/// </remarks>
internal interface IChangeSink
{
    /// <summary>The commit LSN of the last source transaction durable in the sink (0 when none): transactions at or
    /// before it are replays after a restart, and are skipped.</summary>
    ulong LastCommitLsn { get; }

    /// <summary>Changes added since the last <see cref="CommitAsync"/>.</summary>
    long UncommittedChanges { get; }

    /// <summary>True when a <see cref="CommitAsync"/> would make anything durable.</summary>
    bool HasUncommittedWork { get; }

    /// <summary>Adds a change of a transaction sent whole (its commit LSN and time are known from BEGIN).</summary>
    ValueTask AddAsync(ChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal, CancellationToken ct);

    /// <summary>Records that a transaction sent whole is complete with <paramref name="changes"/> changes.</summary>
    ValueTask TransactionCompletedAsync(ulong commitLsn, ulong endLsn, DateTime committedAt, int changes, CancellationToken ct);

    /// <summary>Records a transaction that was already durable (replayed after a restart) as done.</summary>
    ValueTask MarkSkippedAsync(ulong commitLsn, ulong endLsn, CancellationToken ct);

    /// <summary>Keeps a change of a streamed transaction whose commit is not known yet.</summary>
    void Stage(ChangeRecord record, uint topXid, uint subXid);

    /// <summary>Adds the staged changes of a committed streamed transaction, numbered in the order they were staged.</summary>
    ValueTask CommitStagedAsync(uint xid, ulong commitLsn, ulong endLsn, DateTime committedAt, CancellationToken ct);

    /// <summary>Drops the staged changes of an aborted subtransaction, or of a whole streamed transaction
    /// (<paramref name="subXid"/> null).</summary>
    void DiscardStaged(uint xid, uint? subXid);

    /// <summary>Adds a schema change of a transaction sent whole; <paramref name="ordinal"/> counts the transaction's schema changes.</summary>
    void AddSchemaChange(SchemaChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal);

    /// <summary>Keeps a schema change of a streamed transaction until it commits (with <see cref="CommitStagedAsync"/>) or
    /// its (sub)transaction aborts (with <see cref="DiscardStaged"/>).</summary>
    void StageSchemaChange(SchemaChangeRecord record, uint topXid, uint subXid);

    /// <summary>The last image (<c>after</c>) of a row that the sink holds, staged changes of <paramref name="stagedXid"/> first:
    /// the stitcher fills unchanged TOAST values and missing before-images from it.</summary>
    ValueTask<JsonElement?> LastImageAsync(string schema, string table, string primaryKey, uint? stagedXid, CancellationToken ct);

    /// <summary>Makes everything added durable. Called only between source transactions.</summary>
    /// <returns>The end LSN now safe to acknowledge, or null when nothing new became durable.</returns>
    ValueTask<ulong?> CommitAsync(CancellationToken ct);
}
