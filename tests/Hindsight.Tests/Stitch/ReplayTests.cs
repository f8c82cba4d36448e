using Xunit;
using static Hindsight.Tests.Stitch.Wal;

namespace Hindsight.Tests.Stitch;

/// <summary>
/// After a restart PostgreSQL resends what was not acknowledged: a transaction whose commit LSN is at or before the
/// sink's last durable commit LSN is marked skipped, and nothing of it is added, staged for commit or looked up.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ReplayTests
{
    [Fact]
    public async Task Transactions_committed_at_or_before_the_stored_progress_are_skipped()
    {
        var sink = await Stitching.RunAsync(new RecordingSink(lastCommitLsn: 0x2000),
        [
            Begin(900, 0x1000),
            Message("""{"userId":"replayed"}"""),
            Insert(Orders, Order(1, "new")),
            Update(Orders, Order(1, "paid", note: Toast)),
            Truncate(Log),
            Commit(0x1000),
            Begin(901, 0x2000), // exactly the stored progress: already durable
            Delete(Orders, OrderKey(1)),
            Commit(0x2000),
            Begin(902, 0x2001),
            Insert(Orders, Order(2, "new")),
            Commit(0x2001),
        ]);

        Assert.Equal([new Skipped(0x1000, End(0x1000)), new Skipped(0x2000, End(0x2000))], sink.Calls.OfType<Skipped>());
        Assert.Empty(sink.Calls.OfType<ImageLookedUp>());
        Assert.Equal([(902u, 0x2001ul, 1, "2")], sink.Calls.OfType<Added>().Select(a => (a.Xid, a.CommitLsn, a.Ordinal, a.Record.PrimaryKey!)));
        Assert.Equal("{}", sink.Changes[0].Context);
        Assert.Equal([new Completed(0x2001, End(0x2001), At(0x2001), 1)], sink.Calls.OfType<Completed>());
        Assert.Equal(End(0x2001), sink.Acks.Last());
        Assert.Equal(0x2001ul, sink.LastCommitLsn);
    }

    [Fact]
    public async Task Replayed_transactions_alone_still_move_the_acknowledgement()
    {
        var sink = await Stitching.RunAsync(new RecordingSink(lastCommitLsn: 0x3000),
        [
            Begin(910, 0x2800), Insert(Orders, Order(1, "new")), Commit(0x2800),
            Begin(911, 0x3000), Insert(Orders, Order(2, "new")), Commit(0x3000),
        ]);

        Assert.Empty(sink.Changes);
        Assert.Empty(sink.Calls.OfType<Completed>());
        Assert.Equal([new Skipped(0x2800, End(0x2800)), new Skipped(0x3000, End(0x3000))], sink.Calls.OfType<Skipped>());
        Assert.Equal(End(0x3000), sink.Acks.Last());
    }

    [Fact]
    public async Task A_replayed_streamed_transaction_is_discarded_and_skipped()
    {
        var sink = await Stitching.RunAsync(new RecordingSink(lastCommitLsn: 0x4000),
        [
            StreamStart(920, first: true),
            Insert(Orders, Order(1, "new"), stream: 920),
            Insert(Orders, Order(2, "new"), stream: 921),
            StreamStop(),
            StreamCommit(920, 0x4000),
            StreamStart(930, first: true),
            Insert(Orders, Order(3, "new"), stream: 930),
            StreamStop(),
            StreamCommit(930, 0x4001),
        ]);

        Assert.Equal([new Discarded(920, null)], sink.Calls.OfType<Discarded>());
        Assert.Equal([new Skipped(0x4000, End(0x4000))], sink.Calls.OfType<Skipped>());
        Assert.Equal([new StagedCommitted(930, 0x4001, End(0x4001), At(0x4001))], sink.Calls.OfType<StagedCommitted>());
        Assert.Equal(["3"], sink.Changes.Select(c => c.Record.PrimaryKey));
        Assert.Equal(End(0x4001), sink.Acks.Last());
    }
}
