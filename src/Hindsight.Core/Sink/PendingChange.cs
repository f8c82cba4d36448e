using Hindsight.Model;

namespace Hindsight.Sink;

/// <summary>A change of a committed (not streamed) transaction, waiting to be copied into <c>hindsight.changes</c>.</summary>
internal readonly record struct PendingChange(ChangeRecord Record, uint Xid, ulong CommitLsn, DateTime CommittedAt, int Ordinal);
