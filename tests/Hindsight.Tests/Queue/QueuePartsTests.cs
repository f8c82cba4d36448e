using System.Text;
using Hindsight.Model;
using Hindsight.Queue;
using Hindsight.Sink;
using Xunit;

namespace Hindsight.Tests.Queue;

/// <summary>The scale path's small parts, without a server: subjects per source, the recent images capture fills from,
/// and schema changes on the queue.</summary>
[Trait("Category", "Fast")]
public sealed class QueuePartsTests
{
    [Theory]
    [InlineData("shop", "shop")]
    [InlineData("shop-eu_2", "shop-eu_2")]
    [InlineData("eu.shop", "eu%2Eshop")]
    [InlineData("a b", "a%20b")]
    [InlineData("50%", "50%25")]
    [InlineData("*>", "%2A%3E")]
    [InlineData("café", "café")]
    public void A_source_name_becomes_one_subject_token(string source, string token)
    {
        Assert.Equal(token, QueueSubjects.Token(source));
        Assert.Equal($"hindsight.changes.{token}", QueueSubjects.ChangesOf("hindsight", source));
        Assert.DoesNotContain('.', QueueSubjects.Token(source));
    }

    [Fact]
    public void Different_names_never_share_a_token()
    {
        // The escape character is escaped itself, so a name that looks like an escape stays apart from the name it resembles.
        string[] names = ["a.b", "a%2Eb", "a b", "a%20b", "a_b", "a-b"];
        Assert.Equal(names.Length, names.Select(QueueSubjects.Token).Distinct().Count());
    }

    private static byte[] Image(string json) => Encoding.UTF8.GetBytes(json);

    [Fact]
    public void Recent_images_answer_with_the_last_image_and_forget_the_least_recently_changed_rows_first()
    {
        var recent = new RecentImages(budgetBytes: 1000);
        recent.Remember("public", "docs", "1", Image("""{"id":1,"v":"a"}"""));
        recent.Remember("public", "docs", "1", Image("""{"id":1,"v":"b"}"""));
        Assert.Equal("b", recent.Find("public", "docs", "1")!.Value.GetProperty("v").GetString());
        Assert.Null(recent.Find("public", "docs", "2"));
        Assert.Null(recent.Find("other", "docs", "1")); // schema and table are part of the row's identity

        for (var i = 2; i <= 20; i++) recent.Remember("public", "docs", i.ToString(System.Globalization.CultureInfo.InvariantCulture), Image($$"""{"id":{{i}}}"""));
        Assert.True(recent.Bytes <= 1000, $"{recent.Bytes} bytes held");
        Assert.Null(recent.Find("public", "docs", "1")); // the oldest went first
        Assert.NotNull(recent.Find("public", "docs", "20"));

        recent.Clear();
        Assert.Equal(0, recent.Count);
        Assert.Null(recent.Find("public", "docs", "20"));
    }

    [Fact]
    public void Schema_changes_read_back_as_they_were_queued()
    {
        var change = new PendingSchemaChange(new SchemaChangeRecord
        {
            Tag = "ALTER TABLE", Identity = "public.ledger", Relid = 16384, Schema = "public", Table = "ledger", Role = "app",
            Statement = "ALTER TABLE ledger ADD COLUMN memo text", Columns = """[{"name":"id"},{"name":"memo"}]""", Detail = """{"relkind":"r"}""",
            Xid = 771, Context = Encoding.UTF8.GetBytes("""{"userId":"u1"}"""), Position = 0x1_0000_0100,
        }, 770, 0x1_0000_0200, new DateTime(2026, 12, 4, 23, 0, 0, DateTimeKind.Utc), 2);
        var (headers, body) = SchemaChangeMessage.Create("shop", "shop", "hindsight", 0x1_0000_0200, [change]);
        Assert.Equal("shop:0000000100000200:schema", headers["Nats-Msg-Id"].ToString());
        var read = Assert.Single(SchemaChangeMessage.Read(body));
        Assert.Equal(change with { Record = change.Record with { Context = [] } }, read with { Record = read.Record with { Context = [] } });
        Assert.Equal(change.Record.Context, read.Record.Context);
        Assert.Throws<FormatException>(() => SchemaChangeMessage.Read(Encoding.UTF8.GetBytes("{not json")));
    }
}
