using Hindsight.Capture;
using Xunit;

namespace Hindsight.Tests.Capture;

/// <summary>
/// What Capture hands to Stitch, and when: whole transactions, slices of large ones, and a mark when the reader had to
/// wait for the source (the only moment Stitch may take the stream for quiet and commit the store).
/// </summary>
[Trait("Category", "Fast")]
public sealed class CaptureBatcherTests
{
    private static readonly DateTime At = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static CaptureEvent[] Ready(CaptureBatcher batcher, bool nextIsThere)
    {
        var batch = batcher.TakeReady(nextIsThere);
        Assert.NotNull(batch);
        return batch;
    }

    private static ContextMessageEvent Message(uint? xid = null) => new(xid, "hindsight", [1], 1);

    [Fact]
    public void A_transaction_is_handed_over_whole_once_its_commit_is_read()
    {
        var batcher = new CaptureBatcher();
        var begin = new BeginEvent(7, 100, At);
        var message = Message();
        var commit = new CommitEvent(100, 108, At);
        Assert.Null(batcher.TakeReady(nextIsThere: false)); // nothing read yet: nothing to say
        batcher.Add(begin);
        Assert.Null(batcher.TakeReady(nextIsThere: false)); // open transaction: held back, and the stream is not quiet
        batcher.Add(message);
        Assert.Null(batcher.TakeReady(nextIsThere: true));
        batcher.Add(commit);
        Assert.Equal([begin, message, commit], Ready(batcher, true));
        Assert.Null(batcher.TakeReady(nextIsThere: true));
    }

    [Fact]
    public void The_batch_read_last_before_the_reader_waits_ends_with_the_idle_mark_once()
    {
        var batcher = new CaptureBatcher();
        var begin = new BeginEvent(7, 100, At);
        var commit = new CommitEvent(100, 108, At);
        batcher.Add(begin);
        batcher.Add(commit);
        Assert.Equal([begin, commit, ReaderIdleEvent.Instance], Ready(batcher, false));
        Assert.Null(batcher.TakeReady(nextIsThere: false)); // marked already
    }

    [Fact]
    public void A_reader_that_waits_after_a_batch_it_handed_over_busy_sends_the_mark_alone()
    {
        var batcher = new CaptureBatcher();
        batcher.Add(new BeginEvent(7, 100, At));
        batcher.Add(new CommitEvent(100, 108, At));
        Assert.Equal(2, Ready(batcher, true).Length);
        // The next message was read but gave no event (a type message); then the reader waits.
        Assert.Equal([ReaderIdleEvent.Instance], Ready(batcher, false));
        Assert.Null(batcher.TakeReady(nextIsThere: false));
    }

    [Fact]
    public void A_large_transaction_goes_in_slices_without_the_mark_until_it_commits()
    {
        var batcher = new CaptureBatcher();
        batcher.Add(new BeginEvent(7, 100, At));
        var slices = 0;
        for (var i = 0; i < 3 * CaptureBatcher.MaxEvents; i++)
        {
            batcher.Add(Message());
            if (batcher.TakeReady(nextIsThere: false) is { } slice)
            {
                slices++;
                Assert.Equal(CaptureBatcher.MaxEvents, slice.Length);
                Assert.DoesNotContain(slice, e => e is ReaderIdleEvent); // mid-transaction the stream is never quiet
            }
        }
        Assert.Equal(3, slices);
        batcher.Add(new CommitEvent(100, 108, At));
        var last = Ready(batcher, false); // BEGIN took a place in the first slice: one message is left, then the commit and the mark
        Assert.Equal(3, last.Length);
        Assert.IsType<CommitEvent>(last[1]);
        Assert.Same(ReaderIdleEvent.Instance, last[2]);
    }

    [Fact]
    public void Streamed_segments_and_events_outside_a_transaction_go_at_once()
    {
        var batcher = new CaptureBatcher();
        var start = new StreamStartEvent(9, true);
        var change = Message(9);
        var stop = new StreamStopEvent();
        batcher.Add(start);
        batcher.Add(change);
        Assert.Null(batcher.TakeReady(nextIsThere: true));
        batcher.Add(stop);
        Assert.Equal([start, change, stop], Ready(batcher, true));
        var outside = Message();
        batcher.Add(outside);
        Assert.Equal([outside, ReaderIdleEvent.Instance], Ready(batcher, false));
        var streamCommit = new StreamCommitEvent(9, 200, 208, At);
        batcher.Add(streamCommit);
        Assert.Equal([streamCommit], Ready(batcher, true));
    }
}
