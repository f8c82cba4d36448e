using System.Globalization;
using System.Text;

namespace Hindsight.Queue;

/// <summary>What the queue holds for a source and who is ingesting it (<c>hindsight status --nats</c>).</summary>
public sealed class QueueStatus
{
    /// <summary>The stream's name.</summary>
    public required string Stream { get; init; }
    /// <summary>The ingesters' consumer.</summary>
    public required string Consumer { get; init; }
    /// <summary>The source the per-source figures are of.</summary>
    public required string Source { get; init; }
    /// <summary>Whether the cluster answered and the stream exists (the rest is known only then).</summary>
    public bool Reachable { get; init; }
    /// <summary>Messages of this source not yet ingested.</summary>
    public long? SourceMessages { get; init; }
    /// <summary>When the oldest of them was queued.</summary>
    public DateTimeOffset? OldestQueuedAt { get; init; }
    /// <summary>How long the oldest change not yet ingested has waited in the queue (0 when none waits): the ingest lag.</summary>
    public double? IngestLagSeconds { get; init; }
    /// <summary>Messages of every source not yet ingested.</summary>
    public long? StreamMessages { get; init; }
    /// <summary>Bytes of every source not yet ingested (JetStream counts bytes per stream, not per subject).</summary>
    public long? StreamBytes { get; init; }
    /// <summary>The stream's byte limit (-1: none).</summary>
    public long? MaxBytes { get; init; }
    /// <summary>Messages delivered to an ingester and not yet acknowledged.</summary>
    public long? InFlight { get; init; }
    /// <summary>Ingesters waiting for messages now (pull requests open on the consumer): the connected ones that are idle or between batches.</summary>
    public long? WaitingIngesters { get; init; }
    /// <summary>What is wrong, in words (empty when nothing).</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>The lines <c>status</c> prints.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.Append(c, $"queue:       stream {Stream}, consumer {Consumer}\n");
        if (Reachable)
        {
            var waited = IngestLagSeconds is { } lag ? string.Create(c, $", oldest waiting {lag:0.0} s") : "";
            sb.Append(c, $"  source:    {(SourceMessages is { } n ? n.ToString("N0", c) : "some")} messages not yet ingested{waited}\n");
            var limit = MaxBytes is > 0 ? string.Create(c, $" of at most {MaxBytes:N0}") : "";
            sb.Append(c, $"  stream:    {StreamMessages:N0} messages, {StreamBytes:N0} bytes{limit}\n");
            sb.Append(c, $"  ingesters: {InFlight:N0} messages being stored, {WaitingIngesters:N0} ingesters waiting for more\n");
        }
        foreach (var p in Problems) sb.Append(c, $"  problem:   {p}\n");
        return sb.ToString();
    }
}
