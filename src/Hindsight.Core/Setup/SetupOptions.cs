using System.Diagnostics.CodeAnalysis;
using Hindsight.Configuration;

namespace Hindsight.Setup;

/// <summary>Settings of <c>hindsight setup</c>.</summary>
public sealed class SetupOptions : ConnectionOptions
{
    /// <summary>Settings given with an object initializer.</summary>
    public SetupOptions() { }

    /// <summary>Setup of the installation <paramref name="connection"/> names; the other settings keep their defaults.</summary>
    [SetsRequiredMembers]
    public SetupOptions(ConnectionOptions connection) : base(connection) { }

    /// <summary>
    /// Tables to track (<c>name</c>, <c>schema.name</c>, <c>"Quoted Name"</c>; items may also be comma-separated).
    /// Empty, together with <see cref="Schemas"/>, means every user table.
    /// </summary>
    public IReadOnlyList<string> Tables { get; init; } = [];

    /// <summary>Schemas whose tables are tracked, including tables created in them later.</summary>
    public IReadOnlyList<string> Schemas { get; init; } = [];

    /// <summary>Tables left out. The publication then lists tables one by one, and new tables are not followed.</summary>
    public IReadOnlyList<string> ExcludeTables { get; init; } = [];

    /// <summary>Whether to set REPLICA IDENTITY FULL on the tracked tables.</summary>
    public ReplicaIdentityMode ReplicaIdentity { get; init; } = ReplicaIdentityMode.Full;

    /// <summary>
    /// The commit-time period each partition of the store's change table spans; null keeps the store's (a new store is
    /// partitioned by month). Given for a store that is not partitioned yet but holds changes, setup partitions it: it
    /// copies the changes while writers go on, then swaps the tables in one short transaction that writers wait for.
    /// Partitions already made keep their period.
    /// </summary>
    public Store.PartitionPeriod? Partition { get; init; }

    /// <summary>With <see cref="Partition"/> on a store that holds changes: how many have been copied so far.</summary>
    public IProgress<long>? PartitionProgress { get; init; }

    /// <summary>Also create GIN indexes on <c>before</c> and <c>after</c> for containment filters (costs write throughput).</summary>
    public bool IndexImages { get; init; }

    /// <summary>
    /// Also install Bemi compatibility in the source database: a statement trigger on every tracked table that lifts a
    /// <c>/*Bemi {json} Bemi*/</c> comment ending the query into a <c>_bemi</c> context message, and (as a superuser)
    /// an event trigger that installs it on tables tracked later. See docs/bemi.md.
    /// </summary>
    public bool BemiCompat { get; init; }

    /// <summary>
    /// Also store a baseline: every row of the tracked tables as it is when the slot is created, as SNAPSHOT changes read
    /// in the snapshot the slot exports, so as-of is complete from that moment. Only possible when this run creates the
    /// slot (a slot's snapshot exists only then); a second run reports the stored baseline.
    /// </summary>
    public bool Snapshot { get; init; }

    /// <summary>With <see cref="Snapshot"/>: where the copy's progress is reported (the command line shows it).</summary>
    public IProgress<BaselineProgress>? Progress { get; init; }

    /// <summary>With <see cref="Snapshot"/>: columns left out of the baseline's images — give <c>run</c> the same rules.</summary>
    public IReadOnlyList<string> IgnoreColumns { get; init; } = [];

    /// <summary>With <see cref="Snapshot"/>: columns stored only as keyed digests in the baseline — give <c>run</c> the same rules.</summary>
    public IReadOnlyList<string> RedactColumns { get; init; } = [];

    /// <summary>
    /// Also create the least-privilege roles (<c>hindsight_capture</c>, <c>hindsight_writer</c>, <c>hindsight_reader</c>)
    /// and grant them exactly what their jobs need; the store's changes stay append-only for them. Needs a superuser.
    /// </summary>
    public bool CreateRoles { get; init; }

    /// <summary>
    /// Restrict who may emit context (EXECUTE on <c>pg_logical_emit_message</c> in the source database) to these roles
    /// (plus <c>hindsight_capture</c> when it exists); <c>public</c> gives it back to every user. Empty: left as it is.
    /// Needs a superuser.
    /// </summary>
    public IReadOnlyList<string> TrustedContextRoles { get; init; } = [];

    /// <summary>How long to wait for a table lock (ALTER TABLE, ALTER PUBLICATION) before giving up.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
