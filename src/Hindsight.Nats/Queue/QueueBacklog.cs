using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Hindsight.Queue;

/// <summary>Whether a source still has messages in the stream (a work queue: a message leaves it once an ingester has
/// stored and acknowledged it).</summary>
internal static class QueueBacklog
{
    // JetStream's error code for "no message found".
    private const int NoMessageFound = 10037;

    /// <summary>True while any message of <paramref name="subject"/> is left in <paramref name="stream"/>.</summary>
    public static async Task<bool> AnyAsync(INatsJSContext js, string stream, string subject, CancellationToken ct)
    {
        // The first message of the subject from the stream's start, if any: exact and cheap, whatever the stream holds.
        var s = await js.GetStreamAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        try
        {
            await s.GetAsync(new StreamMsgGetRequest { Seq = 1, NextBySubj = subject }, ct).ConfigureAwait(false);
            return true;
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == NoMessageFound)
        {
            return false;
        }
    }
}
