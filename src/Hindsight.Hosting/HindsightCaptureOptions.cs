using Hindsight.Status;
using Hindsight.Worker;

namespace Hindsight.Hosting;

/// <summary>
/// The capture worker's settings as configuration binds them (section <c>Hindsight</c> by convention): the same as
/// <c>hindsight run</c>'s options, with <see cref="Standby"/> on, since a hosted worker usually runs in every replica.
/// </summary>
public sealed class HindsightCaptureOptions
{
    private static readonly CaptureOptions Defaults = new() { SourceConnectionString = "" };

    /// <summary>The tracked database (libpq URL, key=value, or an Npgsql connection string). Required.</summary>
    public string SourceConnectionString { get; set; } = "";

    /// <summary>The store's database; the tracked database when not set.</summary>
    public string? StoreConnectionString { get; set; }

    /// <summary>The source's name in a store shared by several tracked databases; the database's name when not set.</summary>
    public string? SourceName { get; set; }

    /// <summary>The replication slot (<c>hindsight</c>).</summary>
    public string Slot { get; set; } = Defaults.Slot;

    /// <summary>The publication (<c>hindsight</c>).</summary>
    public string Publication { get; set; } = Defaults.Publication;

    /// <summary>Columns left out of stored images: <c>table.column</c>, <c>schema.table.column</c> or <c>*.column</c>.</summary>
    public List<string> IgnoreColumns { get; } = [];

    /// <summary>Columns whose values are never stored; a keyed digest shows whether they changed.</summary>
    public List<string> RedactColumns { get; } = [];

    /// <inheritdoc cref="CaptureOptions.BatchSize"/>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <inheritdoc cref="CaptureOptions.MaxChangesPerStoreTransaction"/>
    public int MaxChangesPerStoreTransaction { get; set; } = Defaults.MaxChangesPerStoreTransaction;

    /// <inheritdoc cref="CaptureOptions.CommitInterval"/>
    public TimeSpan CommitInterval { get; set; } = Defaults.CommitInterval;

    /// <inheritdoc cref="CaptureOptions.ReadPause"/>
    public TimeSpan ReadPause { get; set; } = Defaults.ReadPause;

    /// <inheritdoc cref="CaptureOptions.StreamLargeTransactions"/>
    public bool StreamLargeTransactions { get; set; } = Defaults.StreamLargeTransactions;

    /// <inheritdoc cref="CaptureOptions.ContextSizeLimit"/>
    public int ContextSizeLimit { get; set; } = Defaults.ContextSizeLimit;

    /// <inheritdoc cref="CaptureOptions.HeartbeatInterval"/>
    public TimeSpan HeartbeatInterval { get; set; } = Defaults.HeartbeatInterval;

    /// <summary>
    /// Whether this worker stands by while another holds the slot, and takes over when it stops or dies. On by default:
    /// every replica of the host runs a worker, and one of them captures. Off: a slot in use stops the host.
    /// </summary>
    public bool Standby { get; set; } = true;

    /// <inheritdoc cref="CaptureOptions.StandbyPollInterval"/>
    public TimeSpan StandbyPollInterval { get; set; } = Defaults.StandbyPollInterval;

    /// <inheritdoc cref="CaptureOptions.SigningKeyPath"/>
    public string? SigningKeyPath { get; set; }

    /// <inheritdoc cref="CaptureOptions.CheckpointInterval"/>
    public TimeSpan CheckpointInterval { get; set; } = Defaults.CheckpointInterval;

    /// <inheritdoc cref="CaptureOptions.CheckpointDirectory"/>
    public string? CheckpointDirectory { get; set; }

    /// <summary>
    /// Readiness (<see cref="HindsightCaptureHealthCheck"/>) fails above this many bytes of WAL the slot has not
    /// acknowledged. Default 1 GiB, as <c>hindsight status --max-lag-bytes</c>.
    /// </summary>
    public long MaxLagBytes { get; set; } = StatusOptions.DefaultMaxLagBytes;

    /// <summary>
    /// Readiness fails when the store has not advanced for this long while WAL is pending. Default 10 minutes, as
    /// <c>hindsight status --max-lag-seconds</c>.
    /// </summary>
    public TimeSpan MaxLag { get; set; } = TimeSpan.FromSeconds(StatusOptions.DefaultMaxLagSeconds);

    /// <summary>The status the health check reads: the worker's connections, and the lag thresholds above.</summary>
    public StatusOptions ToStatusOptions() => new(ToCaptureOptions()) { MaxLagBytes = MaxLagBytes, MaxLag = MaxLag };

    /// <summary>The worker's options.</summary>
    public CaptureOptions ToCaptureOptions() => new()
    {
        SourceConnectionString = SourceConnectionString,
        StoreConnectionString = string.IsNullOrEmpty(StoreConnectionString) ? null : StoreConnectionString,
        SourceName = string.IsNullOrEmpty(SourceName) ? null : SourceName,
        Slot = Slot,
        Publication = Publication,
        IgnoreColumns = IgnoreColumns.ToList(),
        RedactColumns = RedactColumns.ToList(),
        BatchSize = BatchSize,
        MaxChangesPerStoreTransaction = MaxChangesPerStoreTransaction,
        CommitInterval = CommitInterval,
        ReadPause = ReadPause,
        StreamLargeTransactions = StreamLargeTransactions,
        ContextSizeLimit = ContextSizeLimit,
        HeartbeatInterval = HeartbeatInterval,
        Standby = Standby,
        StandbyPollInterval = StandbyPollInterval,
        SigningKeyPath = string.IsNullOrEmpty(SigningKeyPath) ? null : SigningKeyPath,
        CheckpointInterval = CheckpointInterval,
        CheckpointDirectory = string.IsNullOrEmpty(CheckpointDirectory) ? null : CheckpointDirectory,
    };
}
