using System.Text.Json.Serialization;
using Hindsight.Status;

namespace Hindsight.Server.Contracts;

/// <summary>
/// The installation's health (<c>GET /api/health</c>), the figures of <c>hindsight status</c>, with the same names as its
/// <c>--format json</c>. No connection string or password is part of it.
/// </summary>
internal sealed record HealthDto
{
    /// <summary>True when <see cref="Problems"/> is empty (HTTP 200; otherwise 503).</summary>
    [JsonPropertyName("healthy")] public required bool Healthy { get; init; }
    /// <summary>The source database's name.</summary>
    [JsonPropertyName("database")] public required string Database { get; init; }
    /// <summary>Where the source is, without credentials.</summary>
    [JsonPropertyName("source")] public required string Source { get; init; }
    /// <summary>Where the store is, without credentials.</summary>
    [JsonPropertyName("store")] public required string Store { get; init; }
    /// <summary>The source's name in the store; null when the store does not know this database.</summary>
    [JsonPropertyName("source_name")] public string? SourceName { get; init; }
    /// <summary>Every source the store holds, by name.</summary>
    [JsonPropertyName("store_sources")] public IReadOnlyList<string> StoreSources { get; init; } = [];
    /// <summary>The slot's name.</summary>
    [JsonPropertyName("slot")] public required string Slot { get; init; }
    /// <summary>Whether the slot exists.</summary>
    [JsonPropertyName("slot_exists")] public bool SlotExists { get; init; }
    /// <summary>Whether a worker reads the slot now.</summary>
    [JsonPropertyName("slot_active")] public bool SlotActive { get; init; }
    /// <summary>reserved, extended, unreserved or lost.</summary>
    [JsonPropertyName("wal_status")] public string? WalStatus { get; init; }
    /// <summary>The slot's confirmed position.</summary>
    [JsonPropertyName("confirmed_position")] public string? ConfirmedPosition { get; init; }
    /// <summary>The server's current WAL position.</summary>
    [JsonPropertyName("current_position")] public string? CurrentPosition { get; init; }
    /// <summary>WAL bytes not yet confirmed.</summary>
    [JsonPropertyName("lag_bytes")] public long? LagBytes { get; init; }
    /// <summary>Seconds the store is behind (0 when caught up).</summary>
    [JsonPropertyName("lag_seconds")] public double? LagSeconds { get; init; }
    /// <summary>The publication's name.</summary>
    [JsonPropertyName("publication")] public required string Publication { get; init; }
    /// <summary>Whether the publication exists.</summary>
    [JsonPropertyName("publication_exists")] public bool PublicationExists { get; init; }
    /// <summary>Tables in the publication.</summary>
    [JsonPropertyName("published_tables")] public int PublishedTables { get; init; }
    /// <summary>The store's schema version (0: none).</summary>
    [JsonPropertyName("store_version")] public int StoreVersion { get; init; }
    /// <summary>The version setup migrates to.</summary>
    [JsonPropertyName("store_latest_version")] public int StoreLatestVersion { get; init; }
    /// <summary>End position of the last stored transaction.</summary>
    [JsonPropertyName("last_stored_position")] public string? LastStoredPosition { get; init; }
    /// <summary>Commit time of the last stored transaction (UTC).</summary>
    [JsonPropertyName("last_committed_at")] public string? LastCommittedAt { get; init; }
    /// <summary>When the worker last advanced the store (UTC).</summary>
    [JsonPropertyName("progress_updated_at")] public string? ProgressUpdatedAt { get; init; }
    /// <summary>Changes stored through this slot.</summary>
    [JsonPropertyName("stored_changes")] public long? StoredChanges { get; init; }
    /// <summary>Transactions stored through this slot.</summary>
    [JsonPropertyName("stored_transactions")] public long? StoredTransactions { get; init; }
    /// <summary>The worker's last recorded error.</summary>
    [JsonPropertyName("last_error")] public string? LastError { get; init; }
    /// <summary>Columns whose values the stored images do not hold (generated columns the server does not publish): a warning, not unhealthy.</summary>
    [JsonPropertyName("untracked_columns")] public IReadOnlyList<UntrackedColumnDto> UntrackedColumns { get; init; } = [];
    /// <summary>Why it is unhealthy.</summary>
    [JsonPropertyName("problems")] public required IReadOnlyList<string> Problems { get; init; }
    /// <summary>Worth knowing, not unhealthy.</summary>
    [JsonPropertyName("warnings")] public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>The wire form of a status report.</summary>
    public static HealthDto From(StatusReport s) => new()
    {
        Healthy = s.Healthy, Database = s.Database, Source = s.Source, Store = s.Store, SourceName = s.SourceName, StoreSources = s.StoreSources, Slot = s.Slot, SlotExists = s.SlotExists,
        SlotActive = s.SlotActive, WalStatus = s.WalStatus, ConfirmedPosition = s.ConfirmedPosition, CurrentPosition = s.CurrentPosition,
        LagBytes = s.LagBytes, LagSeconds = s.LagSeconds, Publication = s.Publication, PublicationExists = s.PublicationExists,
        PublishedTables = s.PublishedTables, StoreVersion = s.StoreVersion, StoreLatestVersion = s.StoreLatestVersion,
        LastStoredPosition = s.LastStoredPosition, LastCommittedAt = ApiTime.Format(s.LastCommittedAt),
        ProgressUpdatedAt = ApiTime.Format(s.ProgressUpdatedAt), StoredChanges = s.StoredChanges, StoredTransactions = s.StoredTransactions,
        LastError = s.LastError, Problems = s.Problems, Warnings = s.Warnings,
        UntrackedColumns = s.UntrackedColumns.Select(UntrackedColumnDto.From).ToList(),
    };
}
