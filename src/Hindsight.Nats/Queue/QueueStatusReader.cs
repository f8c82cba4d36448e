using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Hindsight.Queue;

/// <summary>Reads <see cref="QueueStatus"/> from the cluster.</summary>
public static class QueueStatusReader
{
    // JetStream's error code for "no message found".
    private const int NoMessageFound = 10037;

    // Room for a message's headers and JetStream's own bytes per message, beyond its rows.
    private const int FullMargin = 64 * 1024;

    /// <summary>Reads what the queue holds for <paramref name="source"/>; an unreachable cluster or a missing stream is a problem in the result, not an exception.</summary>
    /// <param name="queue">The cluster, the stream and the consumer.</param>
    /// <param name="source">The source's name in the store.</param>
    /// <param name="maxIngestLag">Longer than this waiting in the queue is a problem.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public static async Task<QueueStatus> ReadAsync(JetStreamQueueOptions queue, string source, TimeSpan maxIngestLag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        NatsConnection nats;
        try { nats = await JetStreamConnection.OpenAsync(queue.Urls, "hindsight status", cancellationToken).ConfigureAwait(false); }
        catch (QueueConfigurationException e) { return Unreachable(e.Message); }
        await using var natsDisposal = nats.ConfigureAwait(false);
        var js = new NatsJSContext(nats);
        var subject = QueueSubjects.ChangesOf(queue.Stream, source);
        try
        {
            var stream = await js.GetStreamAsync(queue.Stream, new StreamInfoRequest { SubjectsFilter = subject }, cancellationToken).ConfigureAwait(false);
            var state = stream.Info.State;
            DateTimeOffset? oldest = null;
            try
            {
                var first = await stream.GetAsync(new StreamMsgGetRequest { Seq = 1, NextBySubj = subject }, cancellationToken).ConfigureAwait(false);
                oldest = first.Message.Time;
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == NoMessageFound) { }
            // Per-subject counts come only when the server lists them; without them, "none" is still known exactly.
            long? sourceMessages = state.Subjects is { } subjects && subjects.TryGetValue(subject, out var count) ? count : oldest is null ? 0L : null;
            long? inFlight = null, waiting = null;
            var problems = new List<string>();
            try
            {
                var consumer = await js.GetConsumerAsync(queue.Stream, queue.Consumer, cancellationToken).ConfigureAwait(false);
                inFlight = consumer.Info.NumAckPending;
                waiting = consumer.Info.NumWaiting;
            }
            catch (NatsJSApiException e) { problems.Add($"consumer {queue.Consumer}: {e.Error.Description}"); }
            var lag = oldest is { } t ? Math.Max(0, (DateTimeOffset.UtcNow - t).TotalSeconds) : 0;
            if (lag > maxIngestLag.TotalSeconds)
                problems.Add($"the oldest change of source {source} has waited {lag:0} s in the queue (more than {maxIngestLag.TotalSeconds:0} s): " +
                             (waiting == 0 && inFlight == 0 ? "no ingester is connected; start 'hindsight ingest'" : "the ingesters are behind, or the store is down"));
            // Full: less room left than the largest message capture sends (a message of rows, and its headers).
            if (stream.Info.Config.MaxBytes > 0 && stream.Info.Config.MaxBytes - state.Bytes < QueueMessage.DefaultPartBytes + FullMargin)
                problems.Add($"the stream is full ({state.Bytes:N0} of {stream.Info.Config.MaxBytes:N0} bytes; the next message may not fit): capture waits until the ingesters make room");
            return new QueueStatus
            {
                Stream = queue.Stream, Consumer = queue.Consumer, Source = source, Reachable = true,
                SourceMessages = sourceMessages, OldestQueuedAt = oldest, IngestLagSeconds = lag,
                StreamMessages = state.Messages, StreamBytes = state.Bytes, MaxBytes = stream.Info.Config.MaxBytes,
                InFlight = inFlight, WaitingIngesters = waiting, Problems = problems,
            };
        }
        catch (NatsJSApiException e) { return Unreachable($"stream {queue.Stream}: {e.Error.Description} (run 'hindsight setup --nats …')"); }
        catch (Exception e) when (JetStreamSetup.Transient(e)) { return Unreachable($"JetStream did not answer: {e.Message}"); }

        QueueStatus Unreachable(string why) => new()
        {
            Stream = queue.Stream, Consumer = queue.Consumer, Source = source, Reachable = false, Problems = [why],
        };
    }
}
