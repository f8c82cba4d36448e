using System.Diagnostics;

namespace Hindsight.Capture;

/// <summary>
/// Decides when the reader pauses before its next read, so that one wake-up reads several transactions.
/// </summary>
/// <remarks>
/// The walsender sends a small transaction as several network writes, and a reader that is faster than the source
/// waits for each of them: under pgbench that was about three thread wake-ups per source transaction, and waking
/// up, not decoding, was most of the worker's CPU (BENCHMARKS-log.md, "Where the worker's CPU went"). When a read
/// had to wait only briefly, the stream is busy: the reader then sleeps for the pause and reads what arrived meanwhile
/// in one go. After a long wait (a quiet stream) it does not pause, and a read that found its message already there
/// is followed by the next read at once. What this adds to commit-to-queryable latency is at most the pause, and
/// only while the stream is busy.
/// </remarks>
/// <param name="pause">How long to sleep; <see cref="TimeSpan.Zero"/> never pauses.</param>
internal sealed class ReadPacer(TimeSpan pause)
{
    /// <summary>A read that waited for less than this many pauses found the stream busy.</summary>
    public const int BusyWaitInPauses = 10;

    private long _waitStarted;
    private bool _pauseDue;

    /// <summary>The pause between reads.</summary>
    public TimeSpan Pause => pause;

    /// <summary>Called when a read has to wait for the source.</summary>
    public void WaitBegins() => _waitStarted = Stopwatch.GetTimestamp();

    /// <summary>Called when that read completed: a pause is due if it waited only briefly.</summary>
    public void WaitEnded() => WaitEnded(Stopwatch.GetElapsedTime(_waitStarted));

    /// <summary>Called when a read that had to wait completed after <paramref name="waited"/>.</summary>
    public void WaitEnded(TimeSpan waited) => _pauseDue = pause > TimeSpan.Zero && waited < pause * BusyWaitInPauses;

    /// <summary>Whether the reader should pause now; answers true once per brief wait.</summary>
    public bool TakePause()
    {
        var due = _pauseDue;
        _pauseDue = false;
        return due;
    }
}
