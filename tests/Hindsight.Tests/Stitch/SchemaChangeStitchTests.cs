using Xunit;
using static Hindsight.Tests.Stitch.Wal;

namespace Hindsight.Tests.Stitch;

/// <summary>
/// Schema change messages reach the sink with their transaction: with the context in force where they stand, the EF
/// Core migration whose history row follows them, and, in a streamed transaction, with the subtransaction the trigger
/// named, so a savepoint rolled back takes them with it.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SchemaChangeStitchTests
{
    [Fact]
    public async Task A_schema_change_takes_the_context_before_it_and_the_migration_whose_history_row_follows_it()
    {
        var sink = await Stitching.RunAsync(
            Begin(600, 0x1000),
            Message("""{"userId":"alice"}"""),
            SchemaMessage("ALTER TABLE orders ADD COLUMN a int"),
            Insert(EfHistory, [V("20261203_A"), V("10.0.0")]),
            SchemaMessage("ALTER TABLE orders ADD COLUMN b int"),
            Insert(EfHistory, [V("20261203_B"), V("10.0.0")]),
            Commit(0x1000),
            Begin(601, 0x2000),
            SchemaMessage("ALTER TABLE orders ADD COLUMN c int"),
            Commit(0x2000));

        var stored = sink.SchemaChanges;
        Assert.Equal(["ALTER TABLE orders ADD COLUMN a int", "ALTER TABLE orders ADD COLUMN b int", "ALTER TABLE orders ADD COLUMN c int"],
            stored.Select(s => s.Record.Statement));
        Assert.Equal([(0x1000ul, 1), (0x1000ul, 2), (0x2000ul, 1)], stored.Select(s => (s.CommitLsn, s.Ordinal)));
        Assert.Equal(
            [JsonAssert.Canonical("""{"userId":"alice","migrationId":"20261203_A"}"""),
             JsonAssert.Canonical("""{"userId":"alice","migrationId":"20261203_B"}"""),
             "{}"],
            stored.Select(s => JsonAssert.Canonical(System.Text.Encoding.UTF8.GetString(s.Record.Context))));
        // The history rows are row changes like any other.
        Assert.Equal(2, sink.Changes.Count);
    }

    [Fact]
    public async Task In_a_streamed_transaction_a_schema_change_goes_with_the_subtransaction_that_made_it()
    {
        var sink = await Stitching.RunAsync(
            StreamStart(700, first: true),
            Insert(Orders, Order(1, "new"), stream: 700),
            SchemaMessage("ALTER TABLE orders ADD COLUMN kept int", xid: 700, stream: 700),
            SchemaMessage("ALTER TABLE orders ADD COLUMN gone int", xid: 701, stream: 700),
            StreamStop(),
            StreamAbort(700, 701),
            StreamCommit(700, 0x3000),
            StreamStart(702, first: true),
            SchemaMessage("ALTER TABLE orders ADD COLUMN never int", xid: 702, stream: 702),
            StreamStop(),
            StreamAbort(702, 702));

        Assert.Equal(["ALTER TABLE orders ADD COLUMN kept int"], sink.SchemaChanges.Select(s => s.Record.Statement));
        Assert.Equal((0x3000ul, 1), (sink.SchemaChanges[0].CommitLsn, sink.SchemaChanges[0].Ordinal));
    }

    [Fact]
    public async Task A_replayed_transaction_adds_no_schema_change_again()
    {
        var sink = await Stitching.RunAsync(new RecordingSink(lastCommitLsn: 0x5000),
            [Begin(800, 0x5000), SchemaMessage("ALTER TABLE orders ADD COLUMN a int"), Commit(0x5000)]);
        Assert.Empty(sink.SchemaChanges);
    }
}
