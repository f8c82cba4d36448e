using Xunit;
using static Hindsight.Tests.Stitch.Wal;

namespace Hindsight.Tests.Stitch;

/// <summary>
/// Where pgoutput sends no data: an unchanged out-of-line (TOAST) value is taken from the old tuple, else from the last
/// image the sink holds for the row, else stored as the marker <c>{"hindsight":"unchanged-toast-value-unknown"}</c>; a
/// missing before-image (REPLICA IDENTITY DEFAULT) is the last image, else the key columns of a key tuple, else <c>{}</c>.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ToastFillTests
{
    private const string LongNote = "a long note, kept out of line by TOAST";

    private const string StoredSeven =
        """{"id": 7, "status": "new", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00", "note": "a long note, kept out of line by TOAST"}""";

    [Fact]
    public async Task An_unchanged_toast_value_is_filled_from_the_last_image_the_sink_holds()
    {
        var sink = await Stitching.RunAsync(new RecordingSink().WithEarlierImage("public", "orders", "7", StoredSeven),
        [
            Begin(820, 0xE000),
            Update(Orders, Order(7, "paid", total: "12.00", paid: "t", note: Toast)),
            Commit(0xE000),
        ]);

        Assert.Equal([new ImageLookedUp("public", "orders", "7", null)], sink.Calls.OfType<ImageLookedUp>());
        var change = Assert.Single(sink.Changes);
        JsonAssert.Equal(
            """{"id": 7, "status": "paid", "total": 12.00, "paid": true, "placed": "2024-01-02T03:04:05.5+02:00", "note": "a long note, kept out of line by TOAST"}""",
            change.After);
        JsonAssert.Equal(StoredSeven, change.Before); // no old tuple under REPLICA IDENTITY DEFAULT: the last image stands in
    }

    [Fact]
    public async Task With_no_earlier_image_the_value_is_marked_unknown_and_the_before_image_is_empty()
    {
        var sink = await Stitching.RunAsync(
            Begin(821, 0xE100),
            Update(Orders, Order(7, "paid", note: Toast)),
            Commit(0xE100));

        var change = Assert.Single(sink.Changes);
        JsonAssert.Equal(
            """{"id": 7, "status": "paid", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00", "note": {"hindsight": "unchanged-toast-value-unknown"}}""",
            change.After);
        Assert.Equal("{}", change.Before);
    }

    [Fact]
    public async Task An_earlier_change_in_the_same_transaction_supplies_the_value()
    {
        var sink = await Stitching.RunAsync(
            Begin(822, 0xE200),
            Insert(Orders, Order(8, "new", note: V(LongNote))),
            Update(Orders, Order(8, "paid", note: Toast)),
            Update(Orders, Order(8, "shipped", note: Toast)),
            Commit(0xE200));

        Assert.Equal(3, sink.Changes.Count);
        JsonAssert.Equal(
            """{"id": 8, "status": "shipped", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00", "note": "a long note, kept out of line by TOAST"}""",
            sink.Changes[2].After);
        JsonAssert.Equal(
            """{"id": 8, "status": "paid", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00", "note": "a long note, kept out of line by TOAST"}""",
            sink.Changes[2].Before);
    }

    [Fact]
    public async Task Under_replica_identity_full_the_old_tuple_supplies_the_value_without_a_lookup()
    {
        var sink = await Stitching.RunAsync(new RecordingSink().WithEarlierImage("public", "orders", "7", StoredSeven.Replace("TOAST", "an older value")),
        [
            Begin(823, 0xE300),
            Update(Orders, Order(7, "paid", note: Toast), old: Order(7, "new", note: V(LongNote))),
            Commit(0xE300),
        ]);

        Assert.Empty(sink.Calls.OfType<ImageLookedUp>());
        var change = Assert.Single(sink.Changes);
        JsonAssert.Equal(
            """{"id": 7, "status": "paid", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00", "note": "a long note, kept out of line by TOAST"}""",
            change.After);
        JsonAssert.Equal(StoredSeven, change.Before);
    }

    [Fact]
    public async Task A_composite_key_is_looked_up_by_its_json_array_text()
    {
        var sink = await Stitching.RunAsync(new RecordingSink().WithEarlierImage("shop", "order_lines", "[7,2]", """{"order_id": 7, "line": 2, "sku": "SKU-LONG"}"""),
        [
            Begin(824, 0xE400),
            Update(Lines, [V("7"), V("2"), Toast]),
            Commit(0xE400),
        ]);

        Assert.Equal([new ImageLookedUp("shop", "order_lines", "[7,2]", null)], sink.Calls.OfType<ImageLookedUp>());
        var change = Assert.Single(sink.Changes);
        Assert.Equal("[7,2]", change.Record.PrimaryKey);
        JsonAssert.Equal("""{"order_id": 7, "line": 2, "sku": "SKU-LONG"}""", change.After);
    }

    [Fact]
    public async Task A_delete_with_a_key_tuple_keeps_the_last_image_or_else_the_key_columns()
    {
        var sink = await Stitching.RunAsync(new RecordingSink().WithEarlierImage("public", "orders", "7", StoredSeven),
        [
            Begin(825, 0xE500),
            Delete(Orders, OrderKey(7)),
            Delete(Orders, OrderKey(5)),
            Commit(0xE500),
        ]);

        JsonAssert.Equal(StoredSeven, sink.Changes[0].Before);
        JsonAssert.Equal("""{"id": 5}""", sink.Changes[1].Before);
        Assert.All(sink.Changes, c => Assert.Equal("{}", c.After));
    }

    [Fact]
    public async Task In_a_streamed_transaction_the_value_comes_from_its_surviving_staged_changes()
    {
        var sink = await Stitching.RunAsync(
            StreamStart(740, first: true),
            Insert(Orders, Order(40, "new", note: V("v1 " + LongNote)), stream: 740),
            Update(Orders, Order(40, "edited", note: V("v2 " + LongNote)), stream: 741),
            StreamStop(),
            StreamAbort(740, 741),
            StreamStart(740),
            Update(Orders, Order(40, "paid", note: Toast), stream: 740),
            StreamStop(),
            StreamCommit(740, 0xE600));

        Assert.Equal(new ImageLookedUp("public", "orders", "40", 740), sink.Calls.OfType<ImageLookedUp>().Last());
        Assert.Equal(2, sink.Changes.Count);
        JsonAssert.Equal(
            """{"id": 40, "status": "paid", "total": 10.50, "paid": false, "placed": "2024-01-02T03:04:05.5+02:00", "note": "v1 a long note, kept out of line by TOAST"}""",
            sink.Changes[1].After);
    }
}
