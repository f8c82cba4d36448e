using System.Globalization;
using System.Text;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Store;

namespace Hindsight.Status;

/// <summary>
/// What <c>hindsight status</c> reports. No connection string or password is part of it.
/// </summary>
public sealed class StatusReport
{
    /// <summary>The source database's name.</summary>
    public required string Database { get; init; }
    /// <summary>Where the source is (<c>user@host:port/db</c>), without credentials.</summary>
    public required string Source { get; init; }
    /// <summary>Where the store is, without credentials (<c>source database</c> when it is the source).</summary>
    public required string Store { get; init; }
    /// <summary>The source's name in the store (what its changes carry); null when the store does not know this database.</summary>
    public string? SourceName { get; init; }
    /// <summary>Every source the store holds, by name (this one among them once registered).</summary>
    public IReadOnlyList<string> StoreSources { get; init; } = [];
    /// <summary>The slot's name.</summary>
    public required string Slot { get; init; }
    /// <summary>Whether the slot exists (in this database, as a pgoutput slot).</summary>
    public required bool SlotExists { get; init; }
    /// <summary>Whether a worker is reading the slot now.</summary>
    public bool SlotActive { get; init; }
    /// <summary>The walsender serving the slot, when active.</summary>
    public int? SlotActivePid { get; init; }
    /// <summary><c>pg_replication_slots.wal_status</c>: reserved, extended, unreserved or lost.</summary>
    public string? WalStatus { get; init; }
    /// <summary>The slot's confirmed position (<c>confirmed_flush_lsn</c>).</summary>
    public string? ConfirmedPosition { get; init; }
    /// <summary>The server's current WAL position.</summary>
    public string? CurrentPosition { get; init; }
    /// <summary>WAL bytes written since the slot's confirmed position.</summary>
    public long? LagBytes { get; init; }
    /// <summary>WAL bytes the server keeps on disk for the slot (since its <c>restart_lsn</c>): what a stopped worker costs the source.</summary>
    public long? RetainedBytes { get; init; }
    /// <summary>WAL bytes that can still be written before the server invalidates the slot; null when unlimited (<c>max_slot_wal_keep_size = -1</c>).</summary>
    public long? SafeWalBytes { get; init; }
    /// <summary>
    /// 0 when caught up (nothing unconfirmed); otherwise seconds since the store last advanced
    /// (<c>hindsight.progress.updated_at</c>); null when the worker has never stored anything.
    /// </summary>
    public double? LagSeconds { get; init; }
    /// <summary>The publication's name.</summary>
    public required string Publication { get; init; }
    /// <summary>Whether the publication exists.</summary>
    public bool PublicationExists { get; init; }
    /// <summary>Tables in the publication (partitioned tables counted once).</summary>
    public int PublishedTables { get; init; }
    /// <summary>False when the store could not be reached or read (then nothing is known of its schema or progress).</summary>
    public bool StoreReadable { get; init; } = true;
    /// <summary>The store's schema version (0: no store).</summary>
    public int StoreVersion { get; init; }
    /// <summary>The version setup migrates the store to.</summary>
    public int StoreLatestVersion { get; init; } = StoreMigrations.LatestVersion;
    /// <summary>End position of the last transaction whose changes are stored (<c>0/16B3748</c>).</summary>
    public string? LastStoredPosition { get; init; }
    /// <summary>Commit time of the last stored transaction.</summary>
    public DateTimeOffset? LastCommittedAt { get; init; }
    /// <summary>When the worker last advanced the store.</summary>
    public DateTimeOffset? ProgressUpdatedAt { get; init; }
    /// <summary>Changes stored through this slot.</summary>
    public long? StoredChanges { get; init; }
    /// <summary>Transactions stored through this slot.</summary>
    public long? StoredTransactions { get; init; }
    /// <summary>The worker's last error, if it recorded one.</summary>
    public string? LastError { get; init; }
    /// <summary>The byte threshold applied.</summary>
    public long MaxLagBytes { get; init; }
    /// <summary>The seconds threshold applied.</summary>
    public double MaxLagSeconds { get; init; }
    /// <summary>
    /// Columns of the published tables whose values the images do not hold (generated columns the server does not
    /// publish), as the source catalog says now; each table is also named in <see cref="Warnings"/>.
    /// </summary>
    public IReadOnlyList<UntrackedColumn> UntrackedColumns { get; init; } = [];
    /// <summary>How the store's change table is partitioned (null when the store could not be read or is older).</summary>
    public StorePartitioning? Partitioning { get; init; }
    /// <summary>The legal holds in place: changes they match are never pruned.</summary>
    public IReadOnlyList<Retention.LegalHold> LegalHolds { get; init; } = [];
    /// <summary>True when nothing in <see cref="Problems"/>.</summary>
    public bool Healthy => Problems.Count == 0;
    /// <summary>Why the installation is unhealthy (empty when healthy).</summary>
    public required IReadOnlyList<string> Problems { get; init; }
    /// <summary>Things worth knowing that do not make it unhealthy.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>The report as plain text for a terminal.</summary>
    public string ToText()
    {
        var inv = CultureInfo.InvariantCulture;
        var rows = new List<(string, string)>
        {
            ("database", $"{Database} ({Source})"),
            ("source", SourceName is null ? "- (not registered in the store)" : SourceName),
            ("store", Store + (StoreSources.Count > 1 ? $" (sources: {string.Join(", ", StoreSources)})" : "")),
            ("slot", !SlotExists ? $"{Slot}: missing"
                : $"{Slot}: {(SlotActive ? string.Create(inv, $"active (pid {SlotActivePid})") : "inactive (no worker reading)")}, wal_status {WalStatus ?? "-"}"),
            ("publication", PublicationExists ? string.Create(inv, $"{PgNames.DisplayPart(Publication)}: {PublishedTables} tables") : $"{PgNames.DisplayPart(Publication)}: missing"),
            ("confirmed", ConfirmedPosition is null ? "-" : $"{ConfirmedPosition} (server at {CurrentPosition ?? "-"})"),
            ("retained WAL", RetainedBytes is null ? "-" : FormatBytes(RetainedBytes.Value) + (SafeWalBytes is null
                ? " (max_slot_wal_keep_size unlimited: a stopped worker keeps WAL until it catches up)"
                : $" ({FormatBytes(Math.Max(0, SafeWalBytes.Value))} more before the slot is invalidated, max_slot_wal_keep_size)")),
            ("lag", LagBytes is null ? "-" : $"{FormatBytes(LagBytes.Value)}, {(LagSeconds is null ? (StoreReadable ? "? s (nothing stored yet)" : "? s (store unreachable)") : string.Create(inv, $"{LagSeconds.Value:0} s"))}"),
            ("last stored", LastStoredPosition is null ? "-" : $"{LastStoredPosition}{(LastCommittedAt is null ? "" : string.Create(inv, $", committed {LastCommittedAt.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z"))}"),
            ("stored changes", StoredChanges is null ? "-" : string.Create(inv, $"{StoredChanges} in {StoredTransactions} transactions")),
            ("last error", LastError ?? "-"),
            ("partitions", Partitioning?.Describe() ?? "-"),
            ("legal holds", LegalHolds.Count == 0 ? "none" : string.Join("; ", LegalHolds.Select(h => string.Create(inv, $"{h.Id}: {h.Describe()} ({h.Reason})")))),
            ("store schema", !StoreReadable ? "unknown (store unreachable)" : StoreVersion == 0 ? "not set up" : string.Create(inv, $"version {StoreVersion} (latest {StoreLatestVersion})")),
            ("health", Healthy ? "OK" : "UNHEALTHY"),
        };
        var sb = new StringBuilder();
        var width = rows.Max(r => r.Item1.Length);
        foreach (var (k, v) in rows) sb.AppendLine(inv, $"{k.PadRight(width)}  {v}");
        foreach (var p in Problems) sb.AppendLine("problem: " + p);
        foreach (var w in Warnings) sb.AppendLine("warning: " + w);
        return sb.ToString();
    }

    /// <summary>1536 → "1.5 KiB".</summary>
    internal static string FormatBytes(long bytes)
    {
        var inv = CultureInfo.InvariantCulture;
        if (bytes < 1024) return string.Create(inv, $"{bytes} B");
        string[] units = ["KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        var u = -1;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return string.Create(inv, $"{v:0.0} {units[u]} ({bytes} bytes)");
    }
}
