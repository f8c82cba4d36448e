using Npgsql;

namespace Hindsight.Sink;

/// <summary>A sink a capture session opens, uses and disposes: the store itself, or a queue in front of it.</summary>
internal interface ICaptureSink : IChangeSink, IAsyncDisposable
{
    /// <summary>The key that makes redacted values comparable (the store's <c>hindsight.settings</c>).</summary>
    byte[] RedactionKey { get; }

    /// <summary>Connects and reads what the session starts from; called once, before anything else.</summary>
    Task InitializeAsync(CancellationToken ct);

    /// <summary>Called once the session holds the slot (its first event arrived), before anything is handed over: reads
    /// again what is durable, which another worker may have advanced since <see cref="InitializeAsync"/>.</summary>
    ValueTask SlotAcquiredAsync(CancellationToken ct);

    /// <summary>Where the sink stands, for the log: "stored up to commit 0/16B3F48".</summary>
    string DescribeProgress();
}

/// <summary>What a capture session's sink is for: the store, the slot, and the source (its registered name and database).</summary>
internal sealed record CaptureSinkTarget(NpgsqlDataSource Store, string Slot, string Source, string Database, int BatchSize);
