namespace Hindsight.Queue;

/// <summary>What an ingester (<c>hindsight ingest</c>, <see cref="QueueIngester"/>) reads and where it writes.</summary>
public sealed class QueueIngestOptions
{
    /// <summary>The cluster, the stream and the durable consumer the ingesters share.</summary>
    public required JetStreamQueueOptions Queue { get; init; }

    /// <summary>The change store (any form <see cref="Configuration.ConnectionStrings"/> accepts).</summary>
    public required string StoreConnectionString { get; init; }

    /// <summary>Most queue messages (transaction parts) stored in one store transaction.</summary>
    public int MaxMessagesPerStoreTransaction { get; init; } = 500;

    /// <summary>Shortest wait before retrying after the store failed (doubled up to <see cref="RetryMaxDelay"/>).</summary>
    public TimeSpan RetryMinDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between retries.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);
}
