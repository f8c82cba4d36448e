using System.Globalization;
using System.Text;
using Hindsight.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Capture;

/// <summary>
/// Fuzzing the whole capture path — pgoutput decoding, TOAST filling, rendering — with random tables (random column
/// types and hostile column names) and random inserts, updates and deletes of values at the edges of every type.
/// PostgreSQL is the oracle: a trigger records <c>to_jsonb()</c> of every row version it writes, and each stored change
/// must equal it as jsonb, in the same order, none missing, none extra.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class CaptureFuzzTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string UserTypes =
        """
        CREATE TYPE fuzz_mood AS ENUM ('sad', 'ok', 'with space', 'quo"te');
        CREATE DOMAIN fuzz_pos AS numeric CHECK (VALUE > 0);
        CREATE TYPE fuzz_pair AS (x int, label text);
        """;

    /// <summary>SQL literals per type: edge values first, then a generator of ordinary random ones.</summary>
    private static readonly (string Type, string[] Edges, Func<Random, string> Random)[] Types =
    [
        ("int2", ["-32768", "32767", "0"], r => r.Next(-32768, 32768).ToString(CultureInfo.InvariantCulture)),
        ("int4", ["-2147483648", "2147483647"], r => r.Next().ToString(CultureInfo.InvariantCulture)),
        ("int8", ["-9223372036854775808", "9223372036854775807"], r => r.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture)),
        ("numeric", ["'NaN'", "0", "-0.000", "1e-30", "123456789012345678901234567890.123456789012345", "'Infinity'", "'-Infinity'"],
            r => (r.NextDouble() * Math.Pow(10, r.Next(-10, 20)) * (r.Next(2) == 0 ? -1 : 1)).ToString("R", CultureInfo.InvariantCulture)),
        ("float4", ["'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "3.4028235e38", "1e-45"], r => ((float)(r.NextDouble() * 1e6 - 5e5)).ToString("R", CultureInfo.InvariantCulture)),
        ("float8", ["'NaN'", "'Infinity'", "'-0'", "1.7976931348623157e308", "5e-324", "0.1"], r => (r.NextDouble() * Math.Pow(10, r.Next(-300, 300))).ToString("R", CultureInfo.InvariantCulture)),
        ("text", ["''", "'NULL'", "E'tab\\there\\nnewline \\\\ backslash'", "'O''Brien \"quoted\"'", "'🦄 Zoë 中文 \u200b'", "repeat('long toasted value ', 800)", "'\\N'"],
            r => Quote(RandomText(r))),
        ("varchar(20)", ["''", "'exactly twenty chars'"], r => Quote(RandomText(r))), // at most 16 code points
        ("char(4)", ["'a'", "'abcd'", "''"], r => Quote(((char)('a' + r.Next(26))).ToString())),
        ("bytea", ["'\\x'", "'\\x00ff'", "decode(repeat('ab', 3000), 'hex')"], r => $"'\\x{Convert.ToHexString(RandomBytes(r))}'"),
        ("bool", ["true", "false"], r => r.Next(2) == 0 ? "true" : "false"),
        ("timestamptz", ["'infinity'", "'-infinity'", "'4713-01-01 00:00:00+00 BC'", "'294276-12-31 23:59:59.999999+00'", "'2000-01-01 00:00:00+14'"],
            r => Quote(new DateTime(1900, 1, 1).AddSeconds(r.NextDouble() * 4e9).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+03:30")),
        ("timestamp", ["'infinity'", "'1999-12-31 23:59:59.999999'"], r => Quote(new DateTime(1950, 1, 1).AddSeconds(r.NextDouble() * 3e9).ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture))),
        ("date", ["'infinity'", "'-infinity'", "'0001-01-01 BC'", "'5874897-12-31'"], r => Quote(new DateTime(1, 1, 1).AddDays(r.Next(0, 3_000_000)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))),
        ("time", ["'00:00'", "'24:00:00'", "'23:59:59.999999'"], r => Quote(TimeSpan.FromSeconds(r.Next(86400)).ToString("c", CultureInfo.InvariantCulture))),
        ("timetz", ["'00:00+14'", "'23:59:59.999999-1459'"], r => Quote(TimeSpan.FromSeconds(r.Next(86400)).ToString("c", CultureInfo.InvariantCulture) + "+02")),
        ("interval", ["'0'", "'-178000000 years'", "'1 mon -1 day 00:00:00.000001'", "'P1Y2M3DT4H5M6.5S'"], r => Quote($"{r.Next(-1000, 1000)} days {r.Next(0, 100000)} seconds")),
        ("uuid", ["'00000000-0000-0000-0000-000000000000'"], r => Quote(Guid.NewGuid().ToString())),
        ("inet", ["'::1'", "'10.0.0.1/8'", "'2001:db8::1/64'"], r => Quote($"{r.Next(256)}.{r.Next(256)}.{r.Next(256)}.{r.Next(256)}")),
        ("cidr", ["'10.0.0.0/8'", "'::/0'"], r => Quote($"192.168.{r.Next(256)}.0/24")),
        ("macaddr", ["'08:00:2b:01:02:03'"], r => Quote(string.Join(":", RandomBytes(r, 6).Select(b => b.ToString("x2", CultureInfo.InvariantCulture))))),
        ("bit(4)", ["B'0000'", "B'1111'"], r => $"B'{Convert.ToString(r.Next(16), 2).PadLeft(4, '0')}'"),
        ("varbit", ["B''", "B'101'"], r => $"B'{Convert.ToString(r.Next(), 2)}'"),
        ("jsonb", ["'{}'", "'[]'", "'null'", "'\"\\u00e9\\ud83e\\udd84\"'", "'{\"a\": {\"b\": [1, 2.50, null, true]}}'", "'1e400'", "'-0'"],
            r => Quote($"{{\"k\": {r.Next()}, \"s\": {System.Text.Json.JsonSerializer.Serialize(RandomText(r))}, \"n\": [{r.NextDouble().ToString("R", CultureInfo.InvariantCulture)}]}}")),
        ("json", ["'{\"dup\": 1, \"dup\": 2}'", "'  [1,   2]  '", "'\"\\u00e9\"'"], r => Quote($"{{ \"x\" : {r.Next()} }}")),
        ("int4[]", ["'{}'", "'{NULL}'", "'[0:2]={1,2,3}'", "'{{1,2},{3,4}}'"], r => Quote("{" + string.Join(",", Enumerable.Range(0, r.Next(5)).Select(_ => r.Next(8) == 0 ? "NULL" : r.Next(-99, 99).ToString(CultureInfo.InvariantCulture))) + "}")),
        ("text[]", ["'{}'", "'{\"\",NULL,\"NULL\",\"a,b\",\"q\\\"\"}'"], r => $"ARRAY[{string.Join(",", Enumerable.Range(0, r.Next(1, 4)).Select(_ => Quote(RandomText(r))))}]"),
        ("numeric[]", ["'{NaN,1.50,-0}'"], r => $"ARRAY[{r.Next()}.{r.Next(100)}]::numeric[]"),
        ("timestamptz[]", ["'{infinity,\"2020-01-01 00:00+00\"}'"], r => "ARRAY[now()]"),
        ("point", ["'(0,0)'", "'(1.5,-2e10)'"], r => Quote($"({r.Next()},{r.Next()})")),
        ("int4range", ["'empty'", "'(,)'", "'[1,2)'"], r => $"int4range({r.Next(100)}, {100 + r.Next(100)})"),
        ("tsvector", ["''", "'a:1 b:2'"], r => $"to_tsvector('simple', {Quote(RandomText(r))})"),
        ("money", ["'-92233720368547758.08'", "'0'"], r => Quote($"{r.Next(100000)}.{r.Next(100):00}")),
        ("fuzz_mood", ["'quo\"te'", "'with space'"], r => Quote(new[] { "sad", "ok" }[r.Next(2)])),
        ("fuzz_pos", ["0.000000001", "1e30"], r => (r.Next(1, 1000)).ToString(CultureInfo.InvariantCulture)),
        ("fuzz_pair", ["ROW(NULL, NULL)::fuzz_pair", "ROW(1, '')::fuzz_pair", "ROW(-1, 'a \"b\" (c)')::fuzz_pair"], r => $"ROW({r.Next()}, {Quote(RandomText(r))})::fuzz_pair"),
        ("fuzz_pair[]", ["ARRAY[]::fuzz_pair[]", "ARRAY[ROW(1,'x')::fuzz_pair, NULL]"], r => $"ARRAY[ROW({r.Next(10)}, 'y')::fuzz_pair]"),
        ("xml", ["'<a b=\"c\">&amp;</a>'"], r => Quote($"<n>{r.Next()}</n>")),
    ];

    private static readonly string[] ColumnNames =
        ["v", "Select", "with space", "quote\"d", "ünïcödé", "order", "x'y", "🦄", "CamelCase", "user", "a.b", "1st", "end", "col_with_a_rather_long_name_of_sixty_characters_more_or_less_"];

    [Fact]
    public async Task Random_tables_and_edge_values_through_the_replication_stream_equal_to_jsonb()
    {
        var rnd = new Random(20261126);
        var tables = new List<(string Name, List<(string Column, int Type)> Columns)>();
        var ddl = new StringBuilder(UserTypes + Oracle.Install);
        string[] tableNames = ["fuzz a", "Fuzz\"B", "fuzz_c", "select", "fuzz 🦄"];
        // Every type in some table, in random places and under random hostile names.
        var shuffled = Enumerable.Range(0, Types.Length).OrderBy(_ => rnd.Next()).ToList();
        for (var ti = 0; ti < tableNames.Length; ti++)
        {
            var tableName = tableNames[ti];
            var mine = shuffled.Where((_, i) => i % tableNames.Length == ti).ToList();
            var columns = ColumnNames.OrderBy(_ => rnd.Next()).Take(mine.Count).Select((c, i) => (Column: c, Type: mine[i])).ToList();
            tables.Add((tableName, columns));
            ddl.Append(CultureInfo.InvariantCulture,
                $"CREATE TABLE {Ident(tableName)} (id int PRIMARY KEY, {string.Join(", ", columns.Select(c => $"{Ident(c.Column)} {Types[c.Type].Type}"))});\n");
            ddl.Append(Oracle.Attach(Ident(tableName)) + "\n");
        }
        await using var h = await CaptureHarness.CreateAsync(fixture, ddl.ToString());
        h.StartWorker();

        string Value((string Column, int Type) c)
        {
            if (rnd.Next(8) == 0) return "NULL";
            var t = Types[c.Type];
            return rnd.Next(3) == 0 ? t.Edges[rnd.Next(t.Edges.Length)] : t.Random(rnd);
        }

        var live = tables.ToDictionary(t => t.Name, _ => new List<int>());
        var operations = 0;
        for (var tx = 0; tx < 250; tx++)
        {
            var sql = new StringBuilder("BEGIN;\n");
            for (var s = rnd.Next(1, 5); s > 0; s--)
            {
                var (name, columns) = tables[rnd.Next(tables.Count)];
                var ids = live[name];
                var op = ids.Count == 0 ? 0 : rnd.Next(5);
                if (op <= 1)
                {
                    var id = ids.Count == 0 ? 1 : ids.Max() + 1;
                    ids.Add(id);
                    sql.Append(CultureInfo.InvariantCulture,
                        $"INSERT INTO {Ident(name)} VALUES ({id}, {string.Join(", ", columns.Select(Value))});\n");
                }
                else if (op <= 3)
                {
                    // Often only some columns: the others (long values included) travel as unchanged TOAST.
                    var set = columns.Where(_ => rnd.Next(3) == 0).DefaultIfEmpty(columns[0]);
                    sql.Append(CultureInfo.InvariantCulture,
                        $"UPDATE {Ident(name)} SET {string.Join(", ", set.Select(c => $"{Ident(c.Column)} = {Value(c)}"))} WHERE id = {ids[rnd.Next(ids.Count)]};\n");
                }
                else
                {
                    var id = ids[rnd.Next(ids.Count)];
                    ids.Remove(id);
                    sql.Append(CultureInfo.InvariantCulture, $"DELETE FROM {Ident(name)} WHERE id = {id};\n");
                }
                operations++;
            }
            sql.Append("COMMIT;");
            try { await h.ExecuteAsync(sql.ToString()); }
            catch (Npgsql.PostgresException e)
            {
                // A generated value the type refuses (e.g. out of range) rolls the transaction back: nothing to capture.
                output.WriteLine($"transaction {tx} refused by PostgreSQL ({e.SqlState} {e.MessageText}); rolled back");
                await h.ExecuteAsync("ROLLBACK");
                foreach (var t in tables) live[t.Name] = (await h.RowsAsync($"SELECT id::text FROM {Ident(t.Name)}")).Select(r => int.Parse(r[0], CultureInfo.InvariantCulture)).ToList();
            }
        }
        await h.CatchUpAsync();

        var total = 0L;
        foreach (var (name, columns) in tables)
        {
            output.WriteLine($"{name}: {string.Join(", ", columns.Select(c => $"{c.Column} {Types[c.Type].Type}"))}");
            var mismatches = await h.RowsAsync(Oracle.Mismatches, name);
            foreach (var m in mismatches) output.WriteLine($"  #{m[0]}: stored {m[1]} {m[3]} → {m[5]}\n        oracle {m[2]} {m[4]} → {m[6]}");
            Assert.Empty(mismatches);
            total += await h.ScalarAsync<long>("SELECT count(*) FROM oracle.log WHERE tbl = $1", name);
        }
        output.WriteLine($"{operations} statements, {total} row changes compared with to_jsonb()");
        Assert.True(total > 400, $"only {total} row changes: the fuzz did too little");
    }

    private static string Ident(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string RandomText(Random r)
    {
        const string alphabet = "abcXYZ 019'\"\\\t\n,{}()[]éü中🦄\u200b:;-";
        var length = r.Next(0, 16);
        var sb = new StringBuilder();
        // Surrogate pairs are kept whole: take text elements, not chars.
        var elements = System.Globalization.StringInfo.GetTextElementEnumerator(alphabet);
        var list = new List<string>();
        while (elements.MoveNext()) list.Add((string)elements.Current);
        for (var i = 0; i < length; i++) sb.Append(list[r.Next(list.Count)]);
        return sb.ToString();
    }

    private static byte[] RandomBytes(Random r, int? length = null)
    {
        var bytes = new byte[length ?? r.Next(0, 12)];
        r.NextBytes(bytes);
        return bytes;
    }
}
