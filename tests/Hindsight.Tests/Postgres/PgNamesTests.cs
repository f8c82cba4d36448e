using Hindsight.Postgres;
using Hindsight.Setup;
using Xunit;

namespace Hindsight.Tests.Postgres;

[Trait("Category", "Fast")]
public class PgNamesTests
{
    [Fact]
    public void Lists_split_at_commas_outside_quotes()
    {
        Assert.Equal(["a", "s.b", "\"x,y\".\"z\"", "c"], NameList.Split(["a, s.b", "\"x,y\".\"z\",c", " "]).ToList());
    }

    [Theory]
    [InlineData("Orders", null, "orders", false)]
    [InlineData("Sales.Orders", "sales", "orders", false)]
    [InlineData("\"My Schema\".\"Order \"\"Items\"\"\"", "My Schema", "Order \"Items\"", true)]
    [InlineData("public.\"a.b\"", "public", "a.b", true)]
    public void Names_parse_like_sql(string input, string? schema, string name, bool quoted)
    {
        var p = SetupNames.ParseName(input, 2);
        Assert.Equal(schema, p.Schema?.Candidates().First());
        Assert.Equal(name, p.Name.Candidates().First());
        Assert.Equal(quoted, p.Name.Quoted);
    }

    [Fact]
    public void Quoting_is_always_safe()
    {
        Assert.Equal("\"select\"", PgNames.Quote("select"));
        Assert.Equal("\"a\"\"b\"", PgNames.Quote("a\"b"));
        Assert.Equal("\"s\".\"t\"", PgNames.Quote("s", "t"));
        Assert.Equal("public.orders", PgNames.Display("public", "orders"));
        Assert.Equal("public.\"Order\"", PgNames.Display("public", "Order"));
        Assert.Equal("public.\"user\"", PgNames.Display("public", "user"));
    }

    [Fact]
    public void Lsn_is_printed_like_postgresql()
    {
        Assert.Equal("0/16B3748", PgNames.FormatLsn(0x16B3748));
        Assert.Equal("1/0", PgNames.FormatLsn(1UL << 32));
    }
}
