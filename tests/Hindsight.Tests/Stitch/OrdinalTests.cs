using Hindsight.Model;
using Hindsight.Stitch;
using Xunit;
using static Hindsight.Tests.Stitch.Wal;

namespace Hindsight.Tests.Stitch;

/// <summary>
/// Ordinals of a transaction sent whole: 1..n in WAL order, one per row change and one per truncated table, none for a
/// context message, counted again from 1 in the next transaction; the commit reports n. Column rules drop columns, never
/// changes, so they leave no gaps. (Streamed transactions are numbered by the sink at commit: see
/// <see cref="Hindsight.Tests.Sink.StreamSpillTests"/>.)
/// </summary>
[Trait("Category", "Fast")]
public sealed class OrdinalTests
{
    [Fact]
    public async Task Ordinals_run_from_one_without_gaps_and_the_commit_reports_the_count()
    {
        var sink = await Stitching.RunAsync(
            Begin(800, 0xB000),
            Message("""{"step":1}"""),
            Insert(Orders, Order(1, "new")),
            Insert(Orders, Order(2, "new")),
            Message("""{"step":2}"""),
            Update(Orders, Order(1, "paid"), old: Order(1, "new")),
            Truncate(Log, Lines),
            Delete(Orders, OrderKey(2)),
            Insert(Log, [V("done")]),
            Commit(0xB000),
            Begin(801, 0xC000),
            Insert(Orders, Order(3, "new")),
            Commit(0xC000));

        var added = sink.Calls.OfType<Added>().ToList();
        Assert.Equal(
            [(800u, 1), (800u, 2), (800u, 3), (800u, 4), (800u, 5), (800u, 6), (800u, 7), (801u, 1)],
            added.Select(a => (a.Xid, a.Ordinal)));
        Assert.Equal(
            [Operation.Create, Operation.Create, Operation.Update, Operation.Truncate, Operation.Truncate, Operation.Delete, Operation.Create, Operation.Create],
            added.Select(a => a.Record.Operation));
        Assert.All(added.Take(7), a => Assert.Equal((0xB000ul, At(0xB000)), (a.CommitLsn, a.CommittedAt)));
        Assert.Equal(
            [new Completed(0xB000, End(0xB000), At(0xB000), 7), new Completed(0xC000, End(0xC000), At(0xC000), 1)],
            sink.Calls.OfType<Completed>());
    }

    [Fact]
    public async Task A_change_that_touches_only_ignored_columns_is_still_stored_and_numbered()
    {
        var rules = new ColumnRules(ignore: ["orders.note"], redact: []);
        var sink = await Stitching.RunAsync(new RecordingSink(),
        [
            Begin(810, 0xD000),
            Insert(Orders, Order(1, "new", note: V("first"))),
            Update(Orders, Order(1, "new", note: V("second")), old: Order(1, "new", note: V("first"))),
            Insert(Orders, Order(2, "new", note: V("third"))),
            Commit(0xD000),
        ], rules: rules);

        Assert.Equal([1, 2, 3], sink.Changes.Select(c => c.Ordinal));
        const string one = """{"id": 1, "status": "new", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00"}""";
        var update = sink.Changes[1];
        Assert.Equal(Operation.Update, update.Record.Operation);
        JsonAssert.Equal(one, update.Before);
        JsonAssert.Equal(one, update.After);
        JsonAssert.Equal("""{"id": 2, "status": "new", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00"}""", sink.Changes[2].After);
        Assert.Equal([new Completed(0xD000, End(0xD000), At(0xD000), 3)], sink.Calls.OfType<Completed>());
    }
}
