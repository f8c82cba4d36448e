using Xunit;
using static Hindsight.Tests.Stitch.Wal;

namespace Hindsight.Tests.Stitch;

/// <summary>
/// Which context each row change gets: the last context message before it in its own transaction, <c>{}</c> when there
/// was none; a message attributes nothing outside its transaction.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ContextAttributionTests
{
    private const string Alice = """{"userId":"alice@example.com","route":"/orders"}""";
    private const string Bob = """{"userId":"bob"}""";
    private const string Carol = """{"job":"nightly-sync"}""";

    private static (string Key, string Context)[] Contexts(RecordingSink sink) =>
        sink.Changes.Select(c => (c.Record.PrimaryKey ?? c.Record.Table, JsonAssert.Canonical(c.Context))).ToArray();

    private static (string, string) Row(string key, string context) => (key, JsonAssert.Canonical(context));

    [Fact]
    public async Task Each_change_takes_the_last_message_before_it_statement_by_statement()
    {
        var sink = await Stitching.RunAsync(
            Begin(500, 0x1000),
            Insert(Orders, Order(1, "new")),
            Message(Alice),
            Insert(Orders, Order(2, "new")),
            Update(Orders, Order(2, "paid")),
            Insert(Lines, [V("2"), V("1"), V("sku-1")]),
            Message(Bob),
            Delete(Orders, OrderKey(1)),
            Message(Carol),
            Commit(0x1000));

        Assert.Equal(
            [Row("1", "{}"), Row("2", Alice), Row("2", Alice), Row("[2,1]", Alice), Row("1", Bob)],
            Contexts(sink));
        Assert.Equal([1, 2, 3, 4, 5], sink.Changes.Select(c => c.Ordinal));
    }

    [Fact]
    public async Task A_context_never_reaches_a_later_transaction()
    {
        var sink = await Stitching.RunAsync(
            Begin(501, 0x2000), Message(Alice), Insert(Orders, Order(1, "new")), Commit(0x2000),
            Begin(502, 0x3000), Insert(Orders, Order(2, "new")), Message(Bob), Insert(Orders, Order(3, "new")), Commit(0x3000),
            Begin(503, 0x4000), Message(Carol), Commit(0x4000),
            Begin(504, 0x5000), Insert(Orders, Order(4, "new")), Commit(0x5000));

        Assert.Equal([Row("1", Alice), Row("2", "{}"), Row("3", Bob), Row("4", "{}")], Contexts(sink));
        Assert.Equal(
            [(0x2000ul, 1), (0x3000ul, 2), (0x4000ul, 0), (0x5000ul, 1)],
            sink.Calls.OfType<Completed>().Select(c => (c.CommitLsn, c.Changes)));
    }

    [Fact]
    public async Task A_truncate_takes_the_context_like_a_row_change_one_change_per_table()
    {
        var sink = await Stitching.RunAsync(
            Begin(505, 0x6000),
            Insert(Log, [V("before the truncate")]),
            Message(Carol),
            Truncate(Lines, Log),
            Commit(0x6000));

        Assert.Equal(
            [("audit_log", "CREATE", "{}"), ("order_lines", "TRUNCATE", JsonAssert.Canonical(Carol)), ("audit_log", "TRUNCATE", JsonAssert.Canonical(Carol))],
            sink.Changes.Select(c => (c.Record.Table, c.Record.Operation.ToString().ToUpperInvariant(), JsonAssert.Canonical(c.Context))));
        var truncates = sink.Changes.Skip(1).ToList();
        Assert.All(truncates, t => Assert.Null(t.Record.PrimaryKey));
        Assert.All(truncates, t => Assert.Equal(("{}", "{}"), (t.Before, t.After)));
        Assert.Null(sink.Changes[0].Record.PrimaryKey); // audit_log has no primary key
    }

    [Fact]
    public async Task Bemi_messages_and_hindsight_messages_take_turns_as_they_come()
    {
        const string bemi = """{"origin":"typeorm","user":"dave"}""";
        var sink = await Stitching.RunAsync(
            Begin(506, 0x7000),
            Message(Alice),
            Insert(Orders, Order(1, "new")),
            Message(bemi, prefix: "_bemi"),
            Insert(Orders, Order(2, "new")),
            Message(Bob),
            Insert(Orders, Order(3, "new")),
            Commit(0x7000));

        Assert.Equal([Row("1", Alice), Row("2", bemi), Row("3", Bob)], Contexts(sink));
    }

    [Fact]
    public async Task A_streamed_transaction_keeps_its_own_context_across_segments_and_interleaved_transactions()
    {
        var sink = await Stitching.RunAsync(
            StreamStart(900, first: true),
            Message(Alice, stream: 900),
            Insert(Orders, Order(10, "new"), stream: 900),
            StreamStop(),
            Begin(600, 0x8000),
            Insert(Orders, Order(11, "new")),
            Message(Bob),
            Insert(Orders, Order(12, "new")),
            Commit(0x8000),
            StreamStart(900),
            Insert(Orders, Order(13, "new"), stream: 901), // in a subtransaction: the top transaction's context holds
            Message(Carol, stream: 901),
            Insert(Orders, Order(14, "new"), stream: 900),
            StreamStop(),
            StreamCommit(900, 0x9000),
            Begin(601, 0x9100),
            Insert(Orders, Order(15, "new")),
            Commit(0x9100));

        Assert.Equal(
            [Row("11", "{}"), Row("12", Bob), Row("10", Alice), Row("13", Alice), Row("14", Carol), Row("15", "{}")],
            Contexts(sink));
    }

    [Fact]
    public async Task A_message_of_a_rolled_back_subtransaction_attributes_nothing_after_the_rollback()
    {
        // Decoded whole, PostgreSQL drops a rolled-back subtransaction's messages with its changes; streamed, the
        // stitcher must do the same: what follows the rollback takes the last message that survived. pgoutput tags a
        // streamed message with the top transaction's id, whichever subtransaction sent it.
        var sink = await Stitching.RunAsync(
            StreamStart(910, first: true),
            Message(Alice, stream: 910),
            Insert(Orders, Order(20, "new"), stream: 910),
            Message(Bob, stream: 910),                        // SAVEPOINT s; a message; a change; ROLLBACK TO s
            Insert(Orders, Order(21, "new"), stream: 911),
            StreamStop(),
            StreamAbort(910, 911),
            StreamStart(910),
            Insert(Orders, Order(23, "new"), stream: 910),
            Message(Carol, stream: 910),                      // a subtransaction that commits keeps its message
            Insert(Orders, Order(24, "new"), stream: 912),
            Insert(Orders, Order(25, "new"), stream: 910),
            StreamStop(),
            StreamCommit(910, 0xA000));

        Assert.Equal(
            [Row("20", Alice), Row("23", Alice), Row("24", Carol), Row("25", Carol)],
            Contexts(sink));
    }
}
