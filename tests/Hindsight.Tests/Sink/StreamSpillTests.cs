using System.Buffers;
using System.Text;
using Hindsight.Model;
using Hindsight.Sink;
using Xunit;

namespace Hindsight.Tests.Sink;

/// <summary>
/// The local spill of streamed transactions: what the store sink reads back at a stream commit, and numbers 1..n in that
/// order, is the transaction's changes in streamed order without those of rolled-back subtransactions, so ordinals stay
/// dense. Files only, in a directory of the test's own.
/// </summary>
[Trait("Category", "Fast")]
public sealed class StreamSpillTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hindsight-spill-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static byte[] Tuple(string key, Operation operation = Operation.Create, string after = "{}")
    {
        var record = new ChangeRecord
        {
            Schema = "public", Table = "orders", PrimaryKey = key, Operation = operation,
            Before = "{}"u8.ToArray(), After = Encoding.UTF8.GetBytes(after), Context = "{}"u8.ToArray(),
            Position = 1, QueuedAt = DateTime.UnixEpoch,
        };
        var buffer = new ArrayBufferWriter<byte>();
        ChangeRowEncoder.Write(buffer, record, "src"u8, "db"u8, 0, 0, ChangeRowEncoder.Blank, 0);
        return buffer.WrittenSpan.ToArray();
    }

    private static List<string> Keys(StreamSpill spill, uint xid) =>
        spill.Read(xid).Select(t => Encoding.UTF8.GetString(ChangeRowEncoder.Read(t.Span, ChangeRowEncoder.Field.PrimaryKey))).ToList();

    [Fact]
    public void A_rolled_back_subtransaction_is_left_out_and_the_rest_reads_back_in_streamed_order()
    {
        using var spill = new StreamSpill("stitch_tests", _root);
        spill.Append(700, 700, Tuple("1"));
        spill.Append(700, 701, Tuple("2"));
        spill.Append(700, 702, Tuple("3"));
        spill.Append(710, 710, Tuple("x"));
        spill.Append(700, 701, Tuple("4"));
        spill.Append(700, 700, Tuple("5"));
        spill.Abort(700, 701);

        Assert.Equal(["1", "3", "5"], Keys(spill, 700));
        Assert.Equal(["x"], Keys(spill, 710));

        spill.Abort(700, 700);
        Assert.Empty(Keys(spill, 700));
        Assert.Equal(1, spill.Count);
    }

    [Fact]
    public void The_last_image_comes_from_surviving_changes_and_a_delete_clears_it()
    {
        using var spill = new StreamSpill("stitch_tests", _root);
        spill.Append(720, 720, Tuple("1", after: """{"id": 1, "v": "kept"}"""));
        spill.Append(720, 721, Tuple("1", Operation.Update, after: """{"id": 1, "v": "rolled back"}"""));
        spill.Abort(720, 721);
        Assert.Equal("kept", spill.LastImage(720, "public", "orders", "1")!.Value.GetProperty("v").GetString());
        Assert.Null(spill.LastImage(720, "public", "orders", "2"));

        spill.Append(720, 720, Tuple("1", Operation.Delete));
        Assert.Null(spill.LastImage(720, "public", "orders", "1"));
    }
}
