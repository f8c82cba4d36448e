using System.Buffers;
using System.Globalization;
using System.Text;
using Hindsight.Chain;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Chain;

/// <summary>
/// <see cref="JsonbText"/> against known vectors (each checked on PostgreSQL 15 by <see cref="JsonbTextOracleTests"/>
/// too), and the input it must refuse.
/// </summary>
[Trait("Category", "Fast")]
public sealed class JsonbTextTests
{
    /// <summary>(JSON input, what <c>'input'::jsonb::text</c> gives).</summary>
    internal static readonly (string Json, string Jsonb)[] Vectors =
    [
        // Containers, separators, whitespace, top-level scalars.
        ("{}", "{}"), ("[]", "[]"), (" { } ", "{}"), ("[ ]", "[]"),
        ("{\"a\":1}", "{\"a\": 1}"),
        ("[1,2]", "[1, 2]"),
        ("\n\t{ \"a\" :\r\n 1 , \"b\":[ ] }  ", "{\"a\": 1, \"b\": []}"),
        ("[1,2,[3,[]],{\"z\":null,\"y\":true}]", "[1, 2, [3, []], {\"y\": true, \"z\": null}]"),
        ("{\"k\":[{\"b\":false,\"a\":\"x\"}],\"j\":{\"d\":{\"c\":[{}]}}}", "{\"j\": {\"d\": {\"c\": [{}]}}, \"k\": [{\"a\": \"x\", \"b\": false}]}"),
        ("\"s\"", "\"s\""), ("42", "42"), ("true", "true"), ("false", "false"), ("null", "null"), (" [ 1 , 2 ] ", "[1, 2]"),
        ("[[[[[[[[[[1]]]]]]]]]]", "[[[[[[[[[[1]]]]]]]]]]"),

        // Key order: byte length first, then bytes; é is two bytes, so it sorts with "aa".
        ("{\"b\":1,\"aa\":2,\"a\":3,\"é\":4}", "{\"a\": 3, \"b\": 1, \"aa\": 2, \"é\": 4}"),
        ("{\"\":1,\" \":2,\"A\":3,\"~\":4,\"ü\":5,\"😀\":6,\"日\":7,\"ab\":8}", "{\"\": 1, \" \": 2, \"A\": 3, \"~\": 4, \"ab\": 8, \"ü\": 5, \"日\": 7, \"😀\": 6}"),
        ("{\"bb\":1,\"a\":2,\"ccc\":3,\"ba\":4}", "{\"a\": 2, \"ba\": 4, \"bb\": 1, \"ccc\": 3}"),
        // Keys compare unescaped: \t (1 byte) before "a", "a\n" is two bytes.
        (@"{""\u0061"":1,""a\n"":2,""\t"":3}", "{\"\\t\": 3, \"a\": 1, \"a\\n\": 2}"),

        // Duplicate keys: the last one wins, whatever it holds, also when spelt with an escape.
        ("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\": 3, \"b\": 2}"),
        ("{\"a\":{\"x\":1},\"a\":{\"y\":2}}", "{\"a\": {\"y\": 2}}"),
        ("{\"a\":[1],\"a\":null,\"a\":\"last\"}", "{\"a\": \"last\"}"),
        (@"{""a"":1,""\u0061"":2}", "{\"a\": 2}"),
        ("[{\"x\":1,\"x\":2},{\"x\":3}]", "[{\"x\": 2}, {\"x\": 3}]"),

        // Strings: escape_json escapes only " \ \b \f \n \r \t and other control characters (lowercase hex).
        (@"""x\/y""", "\"x/y\""),
        (@"""\b\f\n\r\t\""\\""", @"""\b\f\n\r\t\""\\"""),
        (@"""\u0001\u001F\u001f\u007f""", "\"\\u0001\\u001f\\u001f\u007f\""),
        (@"""\u0022\u005c\u002f\u000a\u0041""", @"""\""\\/\nA"""),
        (@"""\u00e9\u00C9""", "\"éÉ\""),
        (@"""\ud83d\ude00""", "\"😀\""),
        (@"""\uD83D\uDE00x\u2028\uffff""", "\"😀x\u2028\uffff\""),
        ("\"é😀 raw\u007f/\"", "\"é😀 raw\u007f/\""),
        ("\"\"", "\"\""),

        // Numbers: numeric_in then numeric_out.
        ("1e2", "100"), ("1.5e1", "15"), ("1.50e1", "15.0"), ("1e-3", "0.001"), ("1.2345e2", "123.45"), ("1.50", "1.50"),
        ("-0", "0"), ("-0.0", "0.0"), ("1E+2", "100"), ("1e02", "100"), ("0.0e2", "0"), ("-0e5", "0"), ("-0.00e-2", "0.0000"),
        ("1e-0", "1"), ("1e+0", "1"), ("1.0e-10", "0.00000000010"), ("0.000", "0.000"), ("-1.5E-1", "-0.15"),
        ("123456789012345678901234567890e-40", "0.0000000000123456789012345678901234567890"),
        ("12345678901234567890123", "12345678901234567890123"), ("-12.340e1", "-123.40"), ("5e-1", "0.5"), ("0.001e3", "1"),
        ("0.00123e2", "0.123"), ("100e-2", "1.00"), ("-0.5e-3", "-0.0005"), ("0.1", "0.1"), ("-0.0e-0", "0.0"),
        ("9.99e-1", "0.999"), ("1.000e3", "1000"), ("10.01e1", "100.1"), ("0", "0"), ("-7", "-7"), ("0e1073741822", "0"),
        ("[1e2,-0,0.10]", "[100, 0, 0.10]"),
    ];

    /// <summary>Valid JSON that PostgreSQL's jsonb refuses (checked on the server by <see cref="JsonbTextOracleTests"/>).</summary>
    internal static readonly string[] RefusedByJsonb =
    [
        @"""\u0000""", @"{""\u0000"":1}", @"""a\u0000b""",
        @"""\ud83d""", @"""\ude00""", @"""\ud83dx""", @"""\ud83d\u0041""", @"""\ud83d\ud83d""", @"""\ude00\ud83d""", @"[""ok"",""\uDBFF""]",
        "1e-16384", "0e-16384", "-0e-16384", "0.1e-16383", "0.00000e-16379", "1e131072", "10e131071", "0.0001e131076",
        "0e1073741823", "1e1073741822", "1e-1073741823", "1e99999999999999999999", "[1, 1e-99999]",
        "\uFEFF1",
    ];

    /// <summary>Text that is not JSON at all.</summary>
    internal static readonly string[] NotJson =
    [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "-", "1 2", "{} {}", "{\"a\"}", "{'a':1}",
        "\"a", "nul", "True", "[1]]", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"a\tb\"", "// c\n1", "/* c */ 1", "NaN", "Infinity", "[1 2]",
        "{\"a\" 1}", "{1:2}",
    ];

    [Fact]
    public void Known_vectors_print_as_jsonb_does()
    {
        var failures = new List<string>();
        foreach (var (json, expected) in Vectors)
        {
            var actual = Encoding.UTF8.GetString(JsonbText.ToBytes(Encoding.UTF8.GetBytes(json)));
            if (actual != expected) failures.Add($"{json}\n  expected {expected}\n  actual   {actual}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {Vectors.Length} vectors differ:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Input_jsonb_refuses_throws()
    {
        foreach (var json in RefusedByJsonb)
            Assert.Throws<FormatException>(() => JsonbText.ToBytes(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Text_that_is_not_json_throws()
    {
        foreach (var json in NotJson)
        {
            var e = Assert.Throws<FormatException>(() => JsonbText.ToBytes(Encoding.UTF8.GetBytes(json)));
            Assert.StartsWith("Not JSON", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x22, 0xff, 0x22 })] // not UTF-8
    [InlineData(new byte[] { 0x22, 0xc0, 0xaf, 0x22 })] // overlong
    [InlineData(new byte[] { 0x22, 0xed, 0xa0, 0x80, 0x22 })] // an encoded surrogate
    [InlineData(new byte[] { 0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d })] // a Latin-1 key
    [InlineData(new byte[] { 0x22, 0x5c, 0x6e, 0xf0, 0x9f, 0x98, 0x22 })] // a truncated sequence after an escape
    public void Bytes_that_are_not_utf8_throw(byte[] json) => Assert.Throws<FormatException>(() => JsonbText.ToBytes(json));

    [Fact]
    public void The_numeric_limits_are_numerics()
    {
        // The largest weight numeric holds: 131072 integer digits.
        Assert.Equal("1" + new string('0', 131071), Encoding.UTF8.GetString(JsonbText.ToBytes("1e131071"u8)));
        Assert.Equal("-99" + new string('0', 131070), Encoding.UTF8.GetString(JsonbText.ToBytes("-9.9e131071"u8)));
        // The largest display scale: 16383 fraction digits.
        Assert.Equal("0." + new string('0', 16382) + "1", Encoding.UTF8.GetString(JsonbText.ToBytes("1e-16383"u8)));
        Assert.Equal("0." + new string('0', 16383), Encoding.UTF8.GetString(JsonbText.ToBytes("-0e-16383"u8)));
    }

    [Fact]
    public void Write_appends_to_the_writer_and_matches_ToBytes()
    {
        var json = "{\"z\": [1, {\"b\": \"\\u00e9\", \"a\": 1e1}], \"y\": -0.0}"u8;
        var writer = new ArrayBufferWriter<byte>();
        writer.Write("prefix:"u8);
        JsonbText.Write(json, writer);
        Assert.Equal("prefix:{\"y\": 0.0, \"z\": [1, {\"a\": 10, \"b\": \"é\"}]}", Encoding.UTF8.GetString(writer.WrittenSpan));
        Assert.Equal(writer.WrittenSpan[7..].ToArray(), JsonbText.ToBytes(json));
    }

    [Fact]
    public void Large_and_deep_documents_work_and_leave_the_next_call_unaffected()
    {
        var large = new StringBuilder("[");
        var expected = new StringBuilder("[");
        for (var i = 0; i < 20_000; i++)
        {
            if (i > 0) { large.Append(','); expected.Append(", "); }
            large.Append(CultureInfo.InvariantCulture, $"{{\"value\":\"{i}\",\"key\":{i}e-2,\"key\":{i}}}");
            expected.Append(CultureInfo.InvariantCulture, $"{{\"key\": {i}, \"value\": \"{i}\"}}");
        }
        large.Append(']');
        expected.Append(']');
        Assert.Equal(expected.ToString(), Encoding.UTF8.GetString(JsonbText.ToBytes(Encoding.UTF8.GetBytes(large.ToString()))));

        var deep = new string('[', 20_000) + "{\"b\":1,\"a\":2}" + new string(']', 20_000);
        Assert.Equal(new string('[', 20_000) + "{\"a\": 2, \"b\": 1}" + new string(']', 20_000),
            Encoding.UTF8.GetString(JsonbText.ToBytes(Encoding.UTF8.GetBytes(deep))));

        Assert.Equal("{\"a\": 1}", Encoding.UTF8.GetString(JsonbText.ToBytes("{\"a\":1}"u8)));
    }

    [Fact]
    public void A_failed_call_leaves_the_next_call_unaffected()
    {
        Assert.Throws<FormatException>(() => JsonbText.ToBytes("{\"b\":{\"x\":[1,\"\\u0000\"]}}"u8));
        Assert.Equal("{\"a\": [1, {\"c\": 2}]}", Encoding.UTF8.GetString(JsonbText.ToBytes("{\"a\":[1,{\"c\":2}]}"u8)));
    }

    [Fact]
    public void Threads_do_not_share_their_scratch()
    {
        var inputs = JsonbCorpus.Random(seed: 7, count: 400).Where(j => Throws(j) is null).Select(Encoding.UTF8.GetBytes).ToArray();
        var expected = inputs.Select(i => JsonbText.ToBytes(i)).ToArray();
        Parallel.For(0, 8, _ =>
        {
            for (var round = 0; round < 5; round++)
                for (var i = 0; i < inputs.Length; i++)
                    Assert.Equal(expected[i], JsonbText.ToBytes(inputs[i]));
        });
    }

    internal static FormatException? Throws(string json)
    {
        try
        {
            JsonbText.ToBytes(Encoding.UTF8.GetBytes(json));
            return null;
        }
        catch (FormatException e)
        {
            return e;
        }
    }
}

/// <summary>
/// <see cref="JsonbText"/> against PostgreSQL itself: the vectors and a seeded random corpus are cast to jsonb and
/// printed by the server in one round trip, and every output must be byte for byte ours (or refused by both).
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class JsonbTextOracleTests(PostgresFixture fixture)
{
    /// <summary>The server's jsonb text of each input, or <c>ERROR: message</c> where it refuses it (no jsonb text starts so).</summary>
    private const string CastEach = """
        CREATE FUNCTION jsonb_text_or_error(t text) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN
            RETURN t::jsonb::text;
        EXCEPTION WHEN others THEN
            RETURN 'ERROR: ' || SQLERRM;
        END $$;
        """;

    [Fact]
    public async Task Vectors_and_a_random_corpus_print_byte_for_byte_as_postgresql_does()
    {
        var corpus = JsonbTextTests.Vectors.Select(v => v.Json)
            .Concat(JsonbTextTests.RefusedByJsonb)
            .Concat(JsonbCorpus.Random(seed: 20260115, count: 2_000))
            .ToArray();
        var server = await CastOnServerAsync(corpus);

        var failures = new List<string>();
        int accepted = 0, refused = 0, differ = 0;
        for (var i = 0; i < corpus.Length; i++)
        {
            var theirs = server[i];
            string ours;
            try
            {
                ours = Encoding.UTF8.GetString(JsonbText.ToBytes(Encoding.UTF8.GetBytes(corpus[i])));
            }
            catch (FormatException e)
            {
                ours = "ERROR: " + e.Message;
            }

            var serverRefused = theirs.StartsWith("ERROR: ", StringComparison.Ordinal);
            var weRefused = ours.StartsWith("ERROR: ", StringComparison.Ordinal);
            if (serverRefused) refused++; else accepted++;
            // Compared as UTF-8 bytes: the server's text comes back as UTF-8, which decodes to a string losslessly.
            var same = serverRefused ? weRefused : !weRefused && Encoding.UTF8.GetBytes(theirs).AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(ours));
            if (same) continue;
            if (differ++ < 20) failures.Add($"#{i} {Shorten(corpus[i])}\n  postgres {Shorten(theirs)}\n  ours     {Shorten(ours)}");
        }

        Assert.True(differ == 0, $"{differ} of {corpus.Length} documents differ from PostgreSQL's jsonb text; the first:\n" + string.Join("\n", failures));
        // The corpus must exercise both sides.
        Assert.True(accepted > 1_700, $"only {accepted} accepted");
        Assert.True(refused > JsonbTextTests.RefusedByJsonb.Length, $"only {refused} refused");
    }

    [Fact]
    public async Task What_we_refuse_postgresql_refuses()
    {
        var server = await CastOnServerAsync(JsonbTextTests.RefusedByJsonb);
        for (var i = 0; i < server.Length; i++)
        {
            Assert.True(server[i].StartsWith("ERROR: ", StringComparison.Ordinal), $"PostgreSQL accepts {JsonbTextTests.RefusedByJsonb[i]}: {server[i]}");
            Assert.NotNull(JsonbTextTests.Throws(JsonbTextTests.RefusedByJsonb[i]));
        }

        // The NotJson list, as far as it can be sent as text, is refused there too.
        var notJson = JsonbTextTests.NotJson;
        server = await CastOnServerAsync(notJson);
        for (var i = 0; i < server.Length; i++)
            Assert.True(server[i].StartsWith("ERROR: ", StringComparison.Ordinal), $"PostgreSQL accepts {notJson[i]}: {server[i]}");
    }

    private async Task<string[]> CastOnServerAsync(string[] documents)
    {
        var cs = await fixture.CreateDatabaseAsync("jsonbtext");
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using (var create = new NpgsqlCommand(CastEach, conn)) await create.ExecuteNonQueryAsync();

        await using var cmd = new NpgsqlCommand(
            "SELECT jsonb_text_or_error(t) FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n", conn);
        cmd.Parameters.AddWithValue(documents);
        var results = new List<string>(documents.Length);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) results.Add(reader.GetString(0));
        Assert.Equal(documents.Length, results.Count);
        return [.. results];
    }

    private static string Shorten(string s) => s.Length <= 300 ? s : s[..300] + $"… ({s.Length} chars)";
}

/// <summary>Random JSON documents in every syntax jsonb reads: escapes, duplicate keys, whitespace, numbers of all forms.</summary>
internal static class JsonbCorpus
{
    private static readonly string[] KeyPool =
    [
        "", "a", "b", "aa", "ab", "ba", "A", "é", "ü", "日本", "😀", "id", "name", "key", "Key", "a b", "x\"y", "back\\slash", "tab\t",
        "nl\n", "\u0001", "\u001f", "\u007f", "€", "aé", "zz", "\u2028",
    ];

    private static readonly string[] StringPool =
    [
        "", "x", "hello world", "é", "😀", "中文", "quote\"", "\\", "/", "\b\f\n\r\t", "\u0001\u0002\u001e", "\u007f", "\u00a0", "\ufeff", "\uffff",
        "𝄞", "NULL", "null", "true", "1e2", "-0",
    ];

    public static List<string> Random(int seed, int count)
    {
        var random = new Random(seed);
        var documents = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            // Most documents are objects, as row images are; some are any value.
            if (random.Next(5) > 0) WriteObject(random, sb, depth: 0);
            else WriteValue(random, sb, depth: 0);
            documents.Add(sb.ToString());
        }
        return documents;
    }

    private static void WriteValue(Random r, StringBuilder sb, int depth)
    {
        var pick = r.Next(depth >= 4 ? 6 : 9);
        switch (pick)
        {
            case 0: sb.Append("true"); break;
            case 1: sb.Append("false"); break;
            case 2: sb.Append("null"); break;
            case 3:
            case 4: WriteNumber(r, sb); break;
            case 5: WriteString(r, sb, RandomText(r, StringPool)); break;
            case 6:
            case 7: WriteObject(r, sb, depth + 1); break;
            default: WriteArray(r, sb, depth + 1); break;
        }
    }

    private static void WriteObject(Random r, StringBuilder sb, int depth)
    {
        sb.Append('{');
        var n = r.Next(8);
        for (var i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(',');
            Space(r, sb);
            WriteString(r, sb, RandomText(r, KeyPool));
            Space(r, sb);
            sb.Append(':');
            Space(r, sb);
            WriteValue(r, sb, depth);
            Space(r, sb);
        }
        sb.Append('}');
    }

    private static void WriteArray(Random r, StringBuilder sb, int depth)
    {
        sb.Append('[');
        var n = r.Next(6);
        for (var i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(',');
            Space(r, sb);
            WriteValue(r, sb, depth);
            Space(r, sb);
        }
        sb.Append(']');
    }

    private static void Space(Random r, StringBuilder sb)
    {
        if (r.Next(4) == 0) sb.Append(" \t\n\r"[r.Next(4)]);
    }

    private static string RandomText(Random r, string[] pool) => r.Next(6) switch
    {
        0 => pool[r.Next(pool.Length)] + pool[r.Next(pool.Length)],
        1 => new string(Enumerable.Range(0, r.Next(1, 12)).Select(_ => (char)r.Next(0x20, 0x7f)).ToArray()),
        2 => new string(Enumerable.Range(0, r.Next(1, 6)).Select(_ => (char)r.Next(0x00a0, 0xd7ff)).ToArray()),
        _ => pool[r.Next(pool.Length)],
    };

    /// <summary>A JSON string for <paramref name="text"/>, each character written raw or escaped at random; now and then an escape jsonb refuses.</summary>
    private static void WriteString(Random r, StringBuilder sb, string text)
    {
        sb.Append('"');
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var mustEscape = c < 0x20 || c == '"' || c == '\\';
            if (char.IsHighSurrogate(c))
            {
                // A pair: raw, or as two \u escapes.
                if (r.Next(2) == 0) sb.Append(c).Append(text[i + 1]);
                else Escape(r, sb, c).Append('\\').Append('u').Append(Hex(r, text[i + 1]));
                i++;
                continue;
            }
            if (mustEscape || r.Next(5) == 0) Escape(r, sb, c);
            else sb.Append(c);
        }
        // Rarely: a character jsonb refuses.
        switch (r.Next(500))
        {
            case 0: sb.Append("\\u0000"); break;
            case 1: sb.Append("\\ud83d"); break;
            case 2: sb.Append("\\ude00x"); break;
        }
        sb.Append('"');
    }

    private static StringBuilder Escape(Random r, StringBuilder sb, char c)
    {
        var shortForm = c switch
        {
            '"' => "\\\"", '\\' => "\\\\", '/' => "\\/", '\b' => "\\b", '\f' => "\\f", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => null,
        };
        if (shortForm is not null && r.Next(3) > 0) return sb.Append(shortForm);
        return sb.Append('\\').Append('u').Append(Hex(r, c));
    }

    private static string Hex(Random r, char c) => ((int)c).ToString(r.Next(2) == 0 ? "x4" : "X4", CultureInfo.InvariantCulture);

    /// <summary>A JSON number: any sign, integer and fraction lengths, exponent case, sign and leading zeros, some at numeric's limits.</summary>
    private static void WriteNumber(Random r, StringBuilder sb)
    {
        if (r.Next(3) == 0) sb.Append('-');
        var intLength = r.Next(10) == 0 ? r.Next(20, 60) : r.Next(1, 8);
        if (r.Next(4) == 0) sb.Append('0');
        else
        {
            sb.Append((char)('1' + r.Next(9)));
            Digits(r, sb, intLength - 1);
        }
        if (r.Next(2) == 0)
        {
            sb.Append('.');
            Digits(r, sb, r.Next(10) == 0 ? r.Next(20, 60) : r.Next(1, 8));
        }
        if (r.Next(2) == 0)
        {
            sb.Append(r.Next(2) == 0 ? 'e' : 'E');
            var sign = r.Next(3);
            if (sign == 1) sb.Append('+');
            if (sign == 2) sb.Append('-');
            if (r.Next(5) == 0) sb.Append('0', r.Next(1, 3));
            var exponent = r.Next(40) switch
            {
                0 => r.Next(16_370, 16_400),   // around the display scale limit (negative exponents)
                1 => r.Next(131_060, 131_080), // around the weight limit (positive exponents)
                2 => r.Next(1, 100_000),
                < 12 => r.Next(20, 400),
                _ => r.Next(0, 20),
            };
            sb.Append(exponent.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void Digits(Random r, StringBuilder sb, int count)
    {
        // Runs of zeros now and then: all-zero fractions, trailing zeros, zero values.
        var zeros = r.Next(4) == 0;
        for (var i = 0; i < count; i++) sb.Append(zeros ? '0' : (char)('0' + r.Next(10)));
    }
}
