using System.Buffers;
using System.Text;
using System.Text.Json;
using Hindsight.Capture.Rendering;

using Xunit;

namespace Hindsight.Tests.Capture.Rendering;

/// <summary>Renderer behaviour that needs no server: lenient parsing, errors, allocations.</summary>
[Trait("Category", "Fast")]
public sealed class PgValueRendererTests
{
    private static readonly PgTypeInfo Int4 = PgTypeInfo.Scalar(PgTypeInfo.Oids.Int4, "int4");
    private static readonly PgTypeInfo Text = PgTypeInfo.Scalar(PgTypeInfo.Oids.Text, "text");
    private static readonly PgTypeInfo TimestampTz = PgTypeInfo.Scalar(PgTypeInfo.Oids.TimestampTz, "timestamptz");
    private static readonly PgTypeInfo Int4Array = PgTypeInfo.Array(1007, "_int4", Int4);
    private static readonly PgTypeInfo TextArray = PgTypeInfo.Array(1009, "_text", Text);
    private static readonly PgTypeInfo Pair = PgTypeInfo.Composite(90001, "pair", [new PgAttribute("a", Int4), new PgAttribute("b", Text)]);

    private static string Render(PgTypeInfo type, string text) => RenderingOracle.RenderValue(type, text);

    [Theory]
    [InlineData("{1,2,NULL}", "[1,2,null]")]
    [InlineData("{ 1 , 2 }", "[1,2]")]
    [InlineData("[0:1]={1,2}", "[1,2]")]
    [InlineData("[1:1][3:4]={{1,2}}", "[[1,2]]")]
    [InlineData("{}", "[]")]
    [InlineData("{{1},{2}}", "[[1],[2]]")]
    public void Int_arrays(string text, string json) => Assert.Equal(json, Render(Int4Array, text));

    [Theory]
    [InlineData("{\"NULL\",null,\"a\\\\b\",\"c\\\"d\",x\\,y}", "[\"NULL\",null,\"a\\\\b\",\"c\\\"d\",\"x,y\"]")]
    [InlineData("{\"\"}", "[\"\"]")]
    public void Text_arrays(string text, string json) => Assert.Equal(json, Render(TextArray, text));

    [Theory]
    [InlineData("(1,x)", "{\"a\":1,\"b\":\"x\"}")]
    [InlineData("(,)", "{\"a\":null,\"b\":null}")]
    [InlineData("(,\"\")", "{\"a\":null,\"b\":\"\"}")]
    [InlineData("(2,\"a \"\"q\"\" \\\\ b\")", "{\"a\":2,\"b\":\"a \\\"q\\\" \\\\ b\"}")]
    [InlineData("(3,a\\,b)", "{\"a\":3,\"b\":\"a,b\"}")]
    public void Records(string text, string json) => Assert.Equal(json, Render(Pair, text));

    [Theory]
    [InlineData("2020-01-02 03:04:05+00", "\"2020-01-02T03:04:05+00:00\"")]
    [InlineData("2020-01-02 03:04:05.5-07", "\"2020-01-02T03:04:05.5-07:00\"")]
    [InlineData("2020-01-02 03:04:05+05:30", "\"2020-01-02T03:04:05+05:30\"")]
    [InlineData("1800-01-01 05:53:28+05:53:28", "\"1800-01-01T05:53:28+05:53:28\"")]
    [InlineData("0044-03-15 12:00:00+00 BC", "\"0044-03-15T12:00:00+00:00 BC\"")]
    [InlineData("-infinity", "\"-infinity\"")]
    public void Timestamptz(string text, string json) => Assert.Equal(json, Render(TimestampTz, text));

    [Theory]
    [InlineData("{1,2")]
    [InlineData("{1,2}x")]
    [InlineData("1,2")]
    [InlineData("{\"1}")]
    public void Malformed_arrays_throw(string text) =>
        Assert.Throws<PgValueFormatException>(() => Render(Int4Array, text));

    [Theory]
    [InlineData("(1,x,y)")]
    [InlineData("(1)")]
    [InlineData("1,x")]
    [InlineData("(1,\"x)")]
    public void Records_that_do_not_fit_throw(string text) =>
        Assert.Throws<PgValueFormatException>(() => Render(Pair, text));

    [Theory]
    [InlineData("0", true)]
    [InlineData("-0", true)]
    [InlineData("1.5e-300", true)]
    [InlineData("1E+300", true)]
    [InlineData("NaN", false)]
    [InlineData("Infinity", false)]
    [InlineData("-Infinity", false)]
    [InlineData(".5", false)]
    [InlineData("01", false)]
    [InlineData("1.", false)]
    [InlineData("", false)]
    public void Json_number_grammar(string text, bool valid) => Assert.Equal(valid, PgValueRenderer.IsJsonNumber(text));

    [Fact]
    public void Hot_path_does_not_allocate()
    {
        var compArray = PgTypeInfo.Array(90002, "_pair", Pair);
        var cases = new (PgTypeInfo Type, string Text)[]
        {
            (Int4, "123456"),
            (Text, "some \"quoted\" text with é"),
            (TimestampTz, "2020-01-02 03:04:05.123456+00"),
            (Int4Array, "{{1,2,NULL},{4,5,6}}"),
            (TextArray, "{\"a,b\",\"c\\\\d\",NULL,plain}"),
            (compArray, "{\"(1,\\\"x \\\"\\\"y\\\"\\\"\\\")\",\"(,)\",NULL}"),
        };
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        using var writer = new Utf8JsonWriter(buffer, RenderingOracle.WriterOptions);

        void RenderAll(int times)
        {
            for (int i = 0; i < times; i++)
            {
                buffer.ResetWrittenCount();
                writer.Reset(buffer);
                writer.WriteStartArray();
                foreach (var (type, text) in cases) PgValueRenderer.WriteValue(writer, type, text);
                writer.WriteEndArray();
                writer.Flush();
            }
        }

        RenderAll(2000); // warm up (tiered JIT)
        Assert.Equal(
            "[123456,\"some \\\"quoted\\\" text with é\",\"2020-01-02T03:04:05.123456+00:00\",[[1,2,null],[4,5,6]]," +
            "[\"a,b\",\"c\\\\d\",null,\"plain\"],[{\"a\":1,\"b\":\"x \\\"y\\\"\"},{\"a\":null,\"b\":null},null]]",
            Encoding.UTF8.GetString(buffer.WrittenSpan));

        long before = GC.GetAllocatedBytesForCurrentThread();
        RenderAll(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 10_000, $"rendering allocated {allocated} bytes for 10,000 rows");
    }
}
