using System.Text.Json.Nodes;
using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>One stored row change: a row of <c>hindsight.changes</c> (docs/design.md, "The stored shape"), typed.</summary>
public sealed record Change
{
    /// <summary>Ordered identity in the store (the keyset pagination key).</summary>
    public required long Id { get; init; }
    /// <summary>The source the change was captured from: a tracked database under its name in the store.</summary>
    public string Source { get; init; } = "";
    /// <summary>The tracked database the change was made in (its name on its server; several sources may share it).</summary>
    public required string Database { get; init; }
    /// <summary>Schema of the changed table.</summary>
    public required string Schema { get; init; }
    /// <summary>Name of the changed table.</summary>
    public required string Table { get; init; }
    /// <summary>The primary key as text; a composite key as a JSON array (<c>[1,"a"]</c>); null for a TRUNCATE or a table without a primary key.</summary>
    public string? PrimaryKey { get; init; }
    /// <summary>What happened.</summary>
    public required Operation Operation { get; init; }
    /// <summary>The row before the change as <c>to_jsonb()</c> renders it; empty where there is none.</summary>
    public required JsonObject Before { get; init; }
    /// <summary>The row after the change as <c>to_jsonb()</c> renders it; empty where there is none.</summary>
    public required JsonObject After { get; init; }
    /// <summary>The application context of the change; empty where there is none.</summary>
    public required JsonObject Context { get; init; }
    /// <summary>Commit time of the source transaction.</summary>
    public required DateTimeOffset CommittedAt { get; init; }
    /// <summary>The source transaction id (xid).</summary>
    public required long TransactionId { get; init; }
    /// <summary>LSN of the WAL record that carried the change.</summary>
    public required long Position { get; init; }
    /// <summary>LSN of the source transaction's commit.</summary>
    public required long CommitLsn { get; init; }
    /// <summary>1-based position of the change inside its transaction.</summary>
    public required int Ordinal { get; init; }
    /// <summary>When the capture worker read the change from the WAL.</summary>
    public required DateTimeOffset QueuedAt { get; init; }
    /// <summary>When the change was stored.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>
    /// The columns this change added, removed or changed, from <see cref="Before"/> to <see cref="After"/>: every column
    /// added for a CREATE or SNAPSHOT, every column removed for a DELETE, the differing columns for an UPDATE, none for a
    /// TRUNCATE (it carries no images; <see cref="RecordVersion.Diff"/> shows what a TRUNCATE removed from one row).
    /// </summary>
    public IReadOnlyList<ColumnChange> Diff() => RowDiff.Compute(Before, After);
}
