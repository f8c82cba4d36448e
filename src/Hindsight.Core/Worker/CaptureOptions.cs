using System.Diagnostics.CodeAnalysis;
using Hindsight.Capture;
using Hindsight.Configuration;
using Hindsight.Context;

namespace Hindsight.Worker;

/// <summary>Settings of a capture worker (<c>hindsight run</c>).</summary>
public sealed class CaptureOptions : ConnectionOptions
{
    /// <summary>Settings given with an object initializer.</summary>
    public CaptureOptions() { }

    /// <summary>A worker for the installation <paramref name="connection"/> names; the other settings keep their defaults.</summary>
    [SetsRequiredMembers]
    public CaptureOptions(ConnectionOptions connection) : base(connection) { }

    /// <summary>Changes buffered in memory before they are written to the store (bounds memory).</summary>
    public int BatchSize { get; init; } = 2000;

    /// <summary>Most changes written in one store transaction before it is committed and the slot acknowledged.</summary>
    public int MaxChangesPerStoreTransaction { get; init; } = 50_000;

    /// <summary>
    /// Shortest time between two store commits while transactions keep arriving (group commit). Small source
    /// transactions that arrive within it share one store commit; one arriving after a quiet spell is committed at
    /// once. It bounds what this adds to commit-to-queryable latency. <see cref="TimeSpan.Zero"/> commits whenever
    /// the stream pauses.
    /// </summary>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// How long the reader sleeps between reads while the replication stream is busy (its last read waited less than
    /// ten times this), so that one wake-up reads several source transactions instead of waking up for each network
    /// write of the walsender. It adds at most this much to commit-to-queryable latency, and only under load.
    /// <see cref="TimeSpan.Zero"/> reads as soon as anything arrives.
    /// </summary>
    public TimeSpan ReadPause { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Whether PostgreSQL streams a transaction larger than <c>logical_decoding_work_mem</c> while it is still open
    /// (the worker keeps it in a local file and writes it to the store at its commit), or sends it whole at its commit
    /// (the server spills it to its own disk meanwhile, and the worker writes it to the store as it reads it, its commit
    /// LSN known from the start). Default: streamed.
    /// </summary>
    public bool StreamLargeTransactions { get; init; } = true;

    /// <summary>Largest accepted context payload in bytes; a larger one is recorded as an error, never dropped silently.</summary>
    public int ContextSizeLimit { get; init; } = HindsightContext.DefaultSizeLimit;

    /// <summary>Column patterns left out of images (<c>table.column</c>, <c>schema.table.column</c>, <c>*.column</c>).</summary>
    public IReadOnlyList<string> IgnoreColumns { get; init; } = [];

    /// <summary>Column patterns whose values are never stored; a keyed digest shows whether they changed.</summary>
    public IReadOnlyList<string> RedactColumns { get; init; } = [];

    /// <summary>
    /// When no transaction was acknowledged for this long, the worker writes a tiny heartbeat message into
    /// the source WAL, so that an idle database (or one whose writes are all to untracked tables) does not
    /// pin WAL behind the slot forever. <see cref="TimeSpan.Zero"/> turns it off.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First wait before reconnecting after the source or the store went away.</summary>
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between reconnection attempts.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether this worker is one of several replicas: when the slot is in use by another worker it stands by, trying
    /// the slot every <see cref="StandbyPollInterval"/>, and takes over once the active worker stops or dies (its
    /// walsender ends when its connection does). Only the worker holding the slot reads and stores; what the last one
    /// stored is where the next one resumes, so a takeover loses and duplicates nothing. Off: a slot in use is an error
    /// after <see cref="SlotInUseTimeout"/>.
    /// </summary>
    public bool Standby { get; init; }

    /// <summary>How often a worker in standby tries the slot.</summary>
    public TimeSpan StandbyPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the slot may stay in use by another connection before the worker gives up with a
    /// <see cref="CaptureException"/>. Some wait is needed: after a crash or a network cut the server may take a
    /// moment to notice our own previous walsender is gone.
    /// </summary>
    public TimeSpan SlotInUseTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The Ed25519 key file (<c>hindsight setup</c> makes it) the worker signs its chain's checkpoints with, every
    /// <see cref="CheckpointInterval"/>. Null: no checkpoints (the chain is still written).
    /// </summary>
    public string? SigningKeyPath { get; init; }

    /// <summary>How often the worker signs a checkpoint of its chain (with <see cref="SigningKeyPath"/>); the first comes
    /// once it holds the slot.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A directory each checkpoint is also written to as a file (WORM storage, another host's mount, a witness's
    /// inbox); null: the store only.</summary>
    public string? CheckpointDirectory { get; init; }
}
