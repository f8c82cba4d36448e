namespace Hindsight.Capture;

/// <summary>
/// Groups capture events into the batches Capture hands to Stitch: a whole transaction, or a streamed segment, or a
/// slice of at most <see cref="MaxEvents"/> events of a larger one; and marks where the stream went quiet.
/// </summary>
/// <remarks>
/// Stitch runs on another thread. Handed one event at a time, it woke up for every event; a batch costs one hand-over,
/// and nothing waits for a transaction's first events before its commit arrives, so holding them back until then adds
/// no latency (events outside a transaction, such as a non-transactional message, go at once).
/// A batch is handed over when the reader asks for the next message, together with whether that message was already
/// there. When it was not, the batch ends with <see cref="ReaderIdleEvent"/>: the reader is waiting for the source, the
/// stream is quiet, and Stitch may commit the store now. An empty channel alone does not say that: catching up on a
/// backlog, Stitch drains the channel for moments while the reader decodes the next transaction.
/// </remarks>
internal sealed class CaptureBatcher
{
    /// <summary>The most events in one batch: bounds the memory a batch holds while a large transaction streams in.</summary>
    public const int MaxEvents = 64;

    private static readonly CaptureEvent[] IdleOnly = [ReaderIdleEvent.Instance];

    private readonly List<CaptureEvent> _events = new(MaxEvents + 1);
    private bool _inTransaction;
    private bool _idleMarked = true; // nothing read yet: nothing for Stitch to commit

    /// <summary>Adds the next event read from the stream.</summary>
    public void Add(CaptureEvent ev)
    {
        _events.Add(ev);
        _idleMarked = false;
        _inTransaction = ev switch
        {
            BeginEvent or StreamStartEvent => true,
            CommitEvent or StreamStopEvent => false,
            _ => _inTransaction,
        };
    }

    /// <summary>The batch to hand over as the reader asks for the next message, or null when none is due.</summary>
    /// <param name="nextIsThere">Whether the next message was already there (read without waiting for the source).</param>
    public CaptureEvent[]? TakeReady(bool nextIsThere)
    {
        var quiet = !nextIsThere && !_inTransaction;
        if (_events.Count > 0 && (!_inTransaction || _events.Count >= MaxEvents))
        {
            if (quiet) _events.Add(ReaderIdleEvent.Instance);
            var batch = _events.ToArray();
            _events.Clear();
            _idleMarked = quiet;
            return batch;
        }
        if (_events.Count == 0 && quiet && !_idleMarked)
        {
            _idleMarked = true;
            return IdleOnly;
        }
        return null;
    }
}
