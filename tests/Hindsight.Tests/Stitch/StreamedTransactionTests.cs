using Hindsight.Model;
using Xunit;
using static Hindsight.Tests.Stitch.Wal;

namespace Hindsight.Tests.Stitch;

/// <summary>
/// Transactions PostgreSQL streams before they commit: each change is staged under its subtransaction, a rolled-back
/// subtransaction's changes are discarded, and the rest are committed with the stream commit's LSN and time.
/// </summary>
[Trait("Category", "Fast")]
public sealed class StreamedTransactionTests
{
    private const string OrderOneNew =
        """{"id": 1, "status": "new", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00", "note": "short note"}""";

    [Fact]
    public async Task A_rolled_back_subtransaction_never_reaches_the_store_and_the_rest_commit_at_the_stream_commit()
    {
        // BEGIN; INSERT 1; SAVEPOINT a; INSERT 2; ROLLBACK TO a; SAVEPOINT b; UPDATE 1; RELEASE b; INSERT 3; COMMIT,
        // streamed in two segments, with a small transaction committing in between.
        var sink = await Stitching.RunAsync(
            StreamStart(700, first: true),
            Insert(Orders, Order(1, "new"), stream: 700),
            Insert(Orders, Order(2, "new"), stream: 701),
            StreamStop(),
            StreamAbort(700, 701),
            Begin(650, 0x8000),
            Insert(Lines, [V("9"), V("1"), V("sku-9")]),
            Commit(0x8000),
            StreamStart(700),
            Update(Orders, Order(1, "paid", paid: "t"), stream: 702),
            Insert(Orders, Order(3, "new"), stream: 700),
            StreamStop(),
            StreamCommit(700, 0x9000));

        Assert.Equal(
            [(700u, 700u, "1"), (700u, 701u, "2"), (700u, 702u, "1"), (700u, 700u, "3")],
            sink.Calls.OfType<Staged>().Select(s => (s.TopXid, s.SubXid, s.Record.PrimaryKey!)));
        Assert.Equal([new Discarded(700, 701)], sink.Calls.OfType<Discarded>());
        Assert.Equal([new StagedCommitted(700, 0x9000, End(0x9000), At(0x9000))], sink.Calls.OfType<StagedCommitted>());
        // Only the transaction sent whole is added directly, with its own commit LSN.
        Assert.Equal([(650u, 0x8000ul, 1)], sink.Calls.OfType<Added>().Select(a => (a.Xid, a.CommitLsn, a.Ordinal)));

        var streamed = sink.Changes.Where(c => c.Xid == 700).ToList();
        Assert.Equal(
            [("1", Operation.Create), ("1", Operation.Update), ("3", Operation.Create)],
            streamed.Select(c => (c.Record.PrimaryKey!, c.Record.Operation)));
        Assert.All(streamed, c => Assert.Equal((0x9000ul, At(0x9000)), (c.CommitLsn, c.CommittedAt)));
        Assert.DoesNotContain(sink.Changes, c => c.Record.PrimaryKey == "2");

        // The update came without an old tuple (REPLICA IDENTITY DEFAULT): its before-image is the insert staged earlier
        // in the same streamed transaction.
        Assert.Contains(new ImageLookedUp("public", "orders", "1", 700), sink.Calls);
        JsonAssert.Equal(OrderOneNew, streamed[1].Before);
        JsonAssert.Equal(
            """{"id": 1, "status": "paid", "total": 10.50, "paid": true, "placed": "2024-01-02T03:04:05.5+02:00", "note": "short note"}""",
            streamed[1].After);
        Assert.Equal(End(0x9000), sink.Acks.Last());
    }

    [Fact]
    public async Task A_streamed_transaction_rolled_back_whole_leaves_nothing()
    {
        var sink = await Stitching.RunAsync(
            StreamStart(710, first: true),
            Message("""{"userId":"alice"}""", stream: 710),
            Insert(Orders, Order(20, "new"), stream: 710),
            Insert(Orders, Order(21, "new"), stream: 711),
            StreamStop(),
            StreamAbort(710, 710),
            Begin(651, 0x8100),
            Insert(Orders, Order(22, "new")),
            Commit(0x8100));

        Assert.Equal([new Discarded(710, 710)], sink.Calls.OfType<Discarded>());
        Assert.Empty(sink.Calls.OfType<StagedCommitted>());
        Assert.Equal(["22"], sink.Changes.Select(c => c.Record.PrimaryKey));
        Assert.Equal("{}", sink.Changes[0].Context);
        Assert.Equal([new Completed(0x8100, End(0x8100), At(0x8100), 1)], sink.Calls.OfType<Completed>());
        Assert.Equal(End(0x8100), sink.Acks.Last());
    }

    [Fact]
    public async Task Two_streamed_transactions_in_turn_stage_under_their_own_ids_and_commit_apart()
    {
        var sink = await Stitching.RunAsync(
            StreamStart(720, first: true),
            Insert(Orders, Order(30, "new"), stream: 720),
            StreamStop(),
            StreamStart(730, first: true),
            Insert(Orders, Order(31, "new"), stream: 731),
            StreamStop(),
            StreamStart(720),
            Insert(Orders, Order(32, "new"), stream: 721),
            StreamStop(),
            StreamAbort(730, 731),
            StreamStart(730),
            Insert(Orders, Order(33, "new"), stream: 730),
            StreamStop(),
            StreamCommit(730, 0xA000),
            StreamCommit(720, 0xA100));

        Assert.Equal(
            [(720u, 720u, "30"), (730u, 731u, "31"), (720u, 721u, "32"), (730u, 730u, "33")],
            sink.Calls.OfType<Staged>().Select(s => (s.TopXid, s.SubXid, s.Record.PrimaryKey!)));
        Assert.Equal(
            [(730u, 0xA000ul, "33"), (720u, 0xA100ul, "30"), (720u, 0xA100ul, "32")],
            sink.Changes.Select(c => (c.Xid, c.CommitLsn, c.Record.PrimaryKey!)));
        Assert.Equal(End(0xA100), sink.Acks.Last());
    }
}
