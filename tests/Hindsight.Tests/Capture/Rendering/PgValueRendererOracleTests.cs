using System.Globalization;
using System.Text;
using System.Text.Json;
using Hindsight.Capture.Rendering;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using NpgsqlTypes;

using Xunit;

namespace Hindsight.Tests.Capture.Rendering;

/// <summary>
/// Renders values of every kind of type from their text output and compares with PostgreSQL's
/// own <c>to_jsonb()</c> of the same row, as jsonb.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class PgValueRendererOracleTests(PostgresFixture fixture)
{
    internal const string UserTypes = """
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'with space', 'quo"te', 'NULL');
        CREATE DOMAIN posint AS int CHECK (VALUE > 0);
        CREATE DOMAIN posint2 AS posint;
        CREATE DOMAIN email AS text;
        CREATE DOMAIN intarr AS int[];
        CREATE DOMAIN tsd AS timestamptz;
        CREATE DOMAIN jd AS jsonb;
        CREATE DOMAIN numd AS numeric(12,3);
        CREATE TYPE inner_t AS (x int, y text);
        CREATE DOMAIN inner_arr AS inner_t[];
        CREATE TYPE comp AS (a int, b text, c timestamptz, d numeric[], e inner_t, f bool, g jsonb, h inner_t[], i json, j float8, k mood);
        CREATE DOMAIN compd AS comp;
        CREATE TYPE floatrange AS RANGE (subtype = float8);
        CREATE TYPE dropped_t AS (a int, b text, c date);
        ALTER TYPE dropped_t DROP ATTRIBUTE b;
        CREATE TYPE weird AS ("Key ""q"" \ k" text, "é ü" int, "{x}" int[]);
        CREATE TYPE empty_t AS ();
        CREATE TYPE deep AS (c comp, arr comp[], w weird);
        CREATE TABLE tabrow (x int, gone text, y text[]);
        ALTER TABLE tabrow DROP COLUMN gone;
        """;

    /// <summary>(SQL type, SQL expression) pairs; each becomes one row with one non-NULL column.</summary>
    internal static readonly (string Type, string Literal)[] Cases =
    [
        ("int2", "0"), ("int2", "-32768"), ("int2", "32767"),
        ("int4", "-2147483648"), ("int4", "2147483647"), ("int4", "42"),
        ("int8", "-9223372036854775808"), ("int8", "9223372036854775807"),
        ("numeric", "'NaN'"), ("numeric", "'Infinity'"), ("numeric", "'-Infinity'"), ("numeric", "0"),
        ("numeric", "-0.000001"), ("numeric", "'123456789012345678901234567890.123456789012345678901234567890'"),
        ("numeric", "'1e-100'"), ("numeric", "'1e100'"), ("numeric", "-1.50"), ("numeric", "'-0'"),
        ("numeric(10,4)", "1.5"), ("numeric(10,4)", "0"),
        ("float4", "'NaN'"), ("float4", "'Infinity'"), ("float4", "'-Infinity'"), ("float4", "'-0'"), ("float4", "'1e30'"),
        ("float4", "'1.17549435e-38'"), ("float4", "'3.4028235e38'"), ("float4", "'0.1'"), ("float4", "'1.4e-45'"), ("float4", "'123456.79'"),
        ("float8", "'NaN'"), ("float8", "'Infinity'"), ("float8", "'-Infinity'"), ("float8", "'-0'"), ("float8", "'1e300'"),
        ("float8", "'5e-324'"), ("float8", "'2.2250738585072014e-308'"), ("float8", "'0.1'"), ("float8", "'1.7976931348623157e308'"),
        ("float8", "'123456.789'"), ("float8", "'-1e-5'"), ("float8", "'1e15'"), ("float8", "'1e16'"), ("float8", "'0.30000000000000004'"),
        ("money", "'$1,234.56'"), ("money", "-12.3"), ("money", "0"),
        ("text", "''"), ("text", "'hello'"), ("text", "'quote\"back\\slash'"), ("text", "E'tab\\tnew\\nline\\rcr'"),
        ("text", "'unicode é € 😀 中文'"), ("text", "'NULL'"), ("text", "'{a,b}'"), ("text", "'(1,2)'"), ("text", "E'\\x01ctrl\\x1f'"),
        ("text", "'</script>&<>'"), ("text", "'a''b'"), ("text", "E'\\u2028\\u2029'"), ("text", "'  padded  '"), ("text", "repeat('xy', 5000)"),
        ("varchar(20)", "'abc'"), ("varchar(20)", "''"), ("varchar", "'no limit'"),
        ("char(10)", "'ab'"), ("char(10)", "''"), ("char(10)", "'abcdefghij'"), ("char", "'x'"),
        ("\"char\"", "'a'"), ("\"char\"", "'\\310'"), ("\"char\"", "'\\'"), ("\"char\"", "'\"'"),
        ("name", "'some name'"), ("name", "'with \"quotes\"'"),
        ("bytea", "'\\x'"), ("bytea", "'\\xdeadbeef'"), ("bytea", "'\\x00ff'"),
        ("bool", "true"), ("bool", "false"),
        ("uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
        ("json", "'{\"a\":1,\"a\":2}'"), ("json", "'  [1, 2 ,{\"b\" : null}]  '"), ("json", "'\"str\"'"), ("json", "'123'"),
        ("json", "'null'"), ("json", "'{\"n\": 1.000e2, \"s\": \"\\u00e9\\n\\\"\"}'"), ("json", "'true'"), ("json", "'[]'"),
        ("json", "'{}'"), ("json", "'{\"nested\":{\"deep\":[1,[2,[3]]]}}'"), ("json", "E'{\\n\\t\"x\" :\\r\\n -0.5e-3 }'"),
        ("jsonb", "'{\"a\":1,\"a\":2}'"), ("jsonb", "'\"str\"'"), ("jsonb", "'1.50'"), ("jsonb", "'null'"),
        ("jsonb", "'[1,\"x\",{\"y\":[]}]'"), ("jsonb", "'{\"k\": \"\\\"quoted\\\" \\\\ back\", \"u\": \"\\u00e9 😀\"}'"),
        ("date", "'infinity'"), ("date", "'-infinity'"), ("date", "'0044-03-15 BC'"), ("date", "'2024-02-29'"),
        ("date", "'4713-01-01 BC'"), ("date", "'5874897-12-31'"), ("date", "'0001-01-01'"), ("date", "'10000-01-01'"),
        ("time", "'00:00'"), ("time", "'24:00:00'"), ("time", "'12:34:56.789'"), ("time", "'23:59:59.999999'"),
        ("time(2)", "'12:34:56.789'"),
        ("timetz", "'12:34:56+05:30'"), ("timetz", "'00:00:00-12:34:56'"), ("timetz", "'23:59:59.5+00'"), ("timetz", "'01:02:03-08'"),
        ("timestamp", "'infinity'"), ("timestamp", "'-infinity'"), ("timestamp", "'4713-01-01 00:00:00 BC'"),
        ("timestamp", "'294276-12-31 23:59:59.999999'"), ("timestamp", "'2000-01-01 12:00:00.5'"), ("timestamp", "'1999-12-31 23:59:59'"),
        ("timestamp", "'0044-03-15 12:00 BC'"), ("timestamp", "'10000-01-01 00:00'"), ("timestamp(0)", "'2000-01-01 12:00:00.6'"),
        ("timestamptz", "'infinity'"), ("timestamptz", "'-infinity'"), ("timestamptz", "'2020-06-01 12:00:00+05:30'"),
        ("timestamptz", "'4713-01-01 00:00:00+00 BC'"), ("timestamptz", "'0044-03-15 12:00 BC'"), ("timestamptz", "'1800-01-01 00:00:00+00'"),
        ("timestamptz", "'2000-01-01 00:00:00.123456+00'"), ("timestamptz", "'294276-12-31 23:59:59.999999+00'"),
        ("timestamptz", "'1900-01-01 00:00:00 Europe/Amsterdam'"), ("timestamptz(3)", "'2021-03-04 05:06:07.891234-07'"),
        ("interval", "'1 year 2 mons 3 days 04:05:06.789'"), ("interval", "'-1 day'"), ("interval", "'0'"), ("interval", "'P1Y2M'"),
        ("interval", "'-178000000 years'"), ("interval", "'1 day -01:00:00'"), ("interval", "'-00:00:00.000001'"),
        ("int4[]", "'{1,2,NULL}'"), ("int4[]", "'{{1,2},{3,4}}'"), ("int4[]", "'{}'"), ("int4[]", "'[0:1]={1,2}'"),
        ("int4[]", "'[2:3][1:2]={{1,2},{3,4}}'"), ("int4[]", "'{{{1},{2}},{{3},{4}}}'"), ("int4[]", "'{NULL}'"), ("int4[]", "'{{NULL,NULL}}'"),
        ("int8[]", "'{-9223372036854775808,0}'"), ("int2[]", "'{1}'"),
        ("text[]", "'{\"a,b\",\"c\\\"d\",\"e\\\\f\",\"{x}\",\"NULL\",NULL,\"\",\" sp \",é,\"a;b\",\"(1,2)\"}'"),
        ("text[]", "ARRAY['null','Null','nULL', 'NULLx']"), ("text[]", "ARRAY[E'tab\\t', E'new\\nline', E'\\\\', '\"', '}', '{', '']"),
        ("text[]", "'{{a,b},{c,d}}'"), ("text[]", "ARRAY[NULL, 'x']"), ("text[]", "'[0:0]={\"x y\"}'"),
        ("varchar[]", "ARRAY['v1','v 2']"), ("char(3)[]", "ARRAY['a','bb','']::char(3)[]"), ("name[]", "ARRAY['n1']::name[]"),
        ("json[]", "ARRAY['{\"a\":1}','[1,2]','\"s\"','null', ' 3 ']::json[]"), ("json[]", "ARRAY[NULL]::json[]"),
        ("jsonb[]", "ARRAY['{\"a\": \"b,c\"}','1', '\"NULL\"', '{\"q\": \"\\\\\\\"\"}']::jsonb[]"),
        ("timestamp[]", "ARRAY['2000-01-01 00:00','infinity','0044-03-15 12:00 BC', '2000-01-01 00:00:00.5']::timestamp[]"),
        ("timestamptz[]", "ARRAY['2000-01-01 00:00+02','-infinity','0044-03-15 12:00+00 BC']::timestamptz[]"),
        ("date[]", "ARRAY['2000-01-01','infinity','0044-03-15 BC']::date[]"),
        ("numeric[]", "'{1.5,NaN,Infinity,-Infinity,NULL,1e-20,-0.00}'"), ("float8[]", "'{NaN,Infinity,-0,1e300,0.1,-Infinity}'"),
        ("float4[]", "'{1.5,NaN}'"), ("bool[]", "'{t,f,NULL}'"), ("bool[]", "'{{t},{f}}'"),
        ("box[]", "ARRAY['((1,1),(0,0))','((3,3),(2,2))']::box[]"), ("box[]", "'{}'::box[]"), ("point[]", "'{\"(1,2)\",\"(3.5,-4)\"}'"),
        ("uuid[]", "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']::uuid[]"), ("interval[]", "'{\"1 day\",\"-01:00:00\"}'"),
        ("bytea[]", "ARRAY['\\xde'::bytea, '\\x'::bytea]"), ("money[]", "'{1.5,-2}'"), ("inet[]", "'{10.0.0.1,::1/128}'"),
        ("int4range[]", "ARRAY['[1,3)','empty']::int4range[]"), ("tstzrange[]", "ARRAY['[2000-01-01 00:00+00,infinity)']::tstzrange[]"),
        ("mood[]", "ARRAY['sad','with space','quo\"te', 'NULL']::mood[]"),
        ("posint[]", "'{1,2}'"), ("email[]", "'{\"a@b\",\"NULL\"}'"), ("intarr[]", "ARRAY['{1,2}'::intarr,'{3}'::intarr, '{}'::intarr, NULL]"),
        ("tsd[]", "ARRAY['2020-01-01 00:00+00'::tsd]"), ("jd[]", "ARRAY['{\"z\":1}'::jd]"),
        ("inner_t[]", "ARRAY[ROW(1,'a b')::inner_t, ROW(NULL,NULL)::inner_t, ROW(2, E'q\"uo\\\\te,(x) {y}')::inner_t, NULL, ROW(3,'')::inner_t]"),
        ("inner_t[]", "'{}'::inner_t[]"), ("inner_t[]", "ARRAY[[ROW(1,'a')::inner_t],[ROW(2,'b')::inner_t]]"),
        ("comp[]", "ARRAY[ROW(1, 'b', '2020-01-01 00:00+00', '{1.5,NaN}', ROW(2,'in\"ner'), true, '{\"j\":[1]}', ARRAY[ROW(3,'x y')::inner_t, NULL], '[1, 2]', 'NaN', 'happy')::comp]"),
        ("int2vector", "'1 2 3'"), ("int2vector", "''"), ("oidvector", "'4 5'"), ("int2vector[]", "ARRAY['1 2'::int2vector, '3'::int2vector]"),
        ("mood", "'happy'"), ("mood", "'with space'"), ("mood", "'quo\"te'"), ("mood", "'NULL'"),
        ("posint", "5"), ("posint2", "7"), ("email", "'x@y'"), ("intarr", "'{1,NULL,3}'"), ("intarr", "'{{1},{2}}'"),
        ("tsd", "'2020-01-01 00:00+00'"), ("tsd", "'infinity'"), ("jd", "'{\"a\":[1,2]}'"), ("numd", "1.5"), ("numd", "'NaN'"),
        ("inner_t", "ROW(1,'x')"), ("inner_t", "ROW(NULL,NULL)"), ("inner_t", "ROW(NULL,'')"),
        ("inner_t", "ROW(3, E'a \"quoted\" \\\\ back, (paren) ''apos''')"), ("inner_t", "ROW(4, ' ')"), ("inner_t", "ROW(5, 'NULL')"),
        ("inner_t", "ROW(6, E'tab\\there')"), ("inner_t", "ROW(7, '\"')"), ("inner_t", "ROW(8, repeat('\"\\', 300))"),
        ("comp", "ROW(1, 'b', '2020-01-01 00:00+00', '{1.5,NaN}', ROW(2,'in\"ner'), true, '{\"j\":[1]}', ARRAY[ROW(3,'x y')::inner_t, NULL], ' {\"a\" : \"b\"} ', '-Infinity', 'quo\"te')"),
        ("comp", "ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"),
        ("comp", "ROW(0, '', '-infinity', '{}', ROW(NULL,NULL), false, '\"s\"', '{}', 'null', '1e-300', 'NULL')"),
        ("compd", "ROW(1, 'b', '0044-03-15 12:00+00 BC', '{{1},{2}}', ROW(2,'x'), NULL, '[]', NULL, '{}', '-0', 'ok')"),
        ("inner_arr", "ARRAY[ROW(1,'a')::inner_t, NULL]"), ("compd[]", "ARRAY[ROW(1,'b',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)::compd, NULL]"),
        ("tabrow", "ROW(1, '{a,\"b c\"}')"), ("tabrow[]", "ARRAY[ROW(2, NULL)::tabrow, ROW(NULL, '{}')::tabrow]"),
        ("dropped_t", "ROW(1, '2020-01-01')"), ("dropped_t", "ROW(NULL, 'infinity')"),
        ("weird", "ROW('v', 1, '{1,NULL}')"), ("empty_t", "ROW()"),
        ("deep", "ROW(ROW(1, 'b', '2020-01-01 00:00+00', '{1.5}', ROW(2,'in\"ner'), true, '{\"j\":[1]}', ARRAY[ROW(3,'x\\y')::inner_t], '1', '2', 'ok')::comp, ARRAY[ROW(1, 'a\"b', NULL, NULL, ROW(9, '((\"))'), NULL, NULL, NULL, NULL, NULL, NULL)::comp, NULL], ROW('w', 2, '{}')::weird)"),
        ("int4range", "'[1,10)'"), ("int4range", "'empty'"), ("int4range", "'(,5]'"), ("numrange", "'[1.5,Infinity)'"),
        ("tsrange", "'[\"2020-01-01 00:00\",\"2020-02-01 00:00\")'"), ("tstzrange", "'[2020-01-01 00:00+00,)'"),
        ("daterange", "'[2020-01-01,2020-02-01)'"), ("floatrange", "'[1.5,NaN]'"), ("int8range", "'[1,2]'"),
        ("int4multirange", "'{[1,3),[5,7)}'"), ("int4multirange", "'{}'"), ("tsmultirange", "'{[2020-01-01 00:00,2020-01-02 00:00)}'"),
        ("inet", "'192.168.1.1'"), ("inet", "'192.168.1.0/24'"), ("inet", "'::1'"), ("inet", "'2001:db8::1/64'"),
        ("cidr", "'10.0.0.0/8'"), ("cidr", "'2001:db8::/32'"), ("macaddr", "'08:00:2b:01:02:03'"), ("macaddr8", "'08:00:2b:01:02:03:04:05'"),
        ("bit(4)", "B'1010'"), ("varbit", "B''"), ("varbit", "B'1'"),
        ("tsvector", "'a fat cat sat on a mat'"), ("tsvector", "$$'quote''s' 'x':1A,3B \\\\$$"), ("tsquery", "'fat & (rat | !cat)'"),
        ("xml", "'<a x=\"1\">t&amp;</a>'"), ("xml", "'text only'"),
        ("point", "'(1,2)'"), ("point", "'(1e300,-0)'"), ("line", "'{1,-1,0}'"), ("lseg", "'[(0,0),(1,1)]'"), ("box", "'((1,1),(0,0))'"),
        ("path", "'[(0,0),(1,1),(2,0)]'"), ("path", "'((0,0),(1,1))'"), ("polygon", "'((0,0),(1,1),(1,0))'"), ("circle", "'<(0,0),1.5>'"),
        ("oid", "0"), ("oid", "4294967295"), ("pg_lsn", "'16/B374D848'"), ("xid", "'12345'"), ("cid", "'7'"), ("tid", "'(0,1)'"),
        ("txid_snapshot", "'10:20:10,14,15'"), ("pg_snapshot", "'10:20:10,14,15'"), ("regclass", "'pg_class'"), ("regtype", "'integer'"),
        ("regproc", "'now'"), ("aclitem", "'postgres=arwdDxt/postgres'"),
    ];

    [Fact]
    public async Task Every_type_renders_like_to_jsonb()
    {
        var cs = await fixture.CreateDatabaseAsync("render");
        await using var dataSource = RenderingOracle.CreateDataSource(cs);

        var columnTypes = Cases.Select(c => c.Type).Distinct().ToList();
        var sql = new StringBuilder(UserTypes);
        sql.Append("CREATE TABLE cases (id int PRIMARY KEY");
        for (int i = 0; i < columnTypes.Count; i++) sql.Append(CultureInfo.InvariantCulture, $", c{i} {columnTypes[i]}");
        sql.AppendLine(");");
        for (int i = 0; i < Cases.Length; i++)
        {
            var (type, literal) = Cases[i];
            sql.AppendLine(CultureInfo.InvariantCulture, $"INSERT INTO cases (id, c{columnTypes.IndexOf(type)}) VALUES ({i + 1}, ({literal})::{type});");
        }
        await using (var cmd = dataSource.CreateCommand(sql.ToString())) await cmd.ExecuteNonQueryAsync();

        var catalog = new PgTypeCatalog(dataSource);
        var (rows, failures) = await RenderingOracle.CompareTableAsync(
            dataSource, catalog, "cases", id => $"{Cases[id - 1].Type} {Cases[id - 1].Literal}");
        Assert.Equal(Cases.Length, rows);
        Assert.True(failures.Count == 0, $"{failures.Count} value(s) differ from to_jsonb():\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task Hstore_renders_like_to_jsonb_through_its_json_cast()
    {
        var cs = await fixture.CreateDatabaseAsync("render");
        await using var dataSource = RenderingOracle.CreateDataSource(cs);
        await using (var check = dataSource.CreateCommand("SELECT count(*) FROM pg_available_extensions WHERE name = 'hstore'"))
            if ((long)(await check.ExecuteScalarAsync())! == 0) return; // contrib not installed: nothing to compare with

        (string Literal, string Note)[] cases =
        [
            ("''", "empty"), ("'a=>1'", "one"), ("'a=>1, b=>NULL, c=>\"NULL\"'", "null and \"NULL\""),
            ("$$\"q\\\"x\"=>\"v\\\\w\", \"b c\"=>\"\", \"é😀\"=>\"{x,y}\", \"=>\"=>\",\"$$", "escapes"),
            ("hstore('k', repeat('\"\\', 200))", "long escaped value"),
        ];
        var sql = new StringBuilder("CREATE EXTENSION hstore; CREATE DOMAIN hd AS hstore; CREATE TABLE h (id int PRIMARY KEY, v hstore, a hstore[], d hd);\n");
        for (int i = 0; i < cases.Length; i++)
            sql.AppendLine(CultureInfo.InvariantCulture, $"INSERT INTO h VALUES ({i + 1}, {cases[i].Literal}, ARRAY[{cases[i].Literal}, NULL]::hstore[], {cases[i].Literal});");
        await using (var cmd = dataSource.CreateCommand(sql.ToString())) await cmd.ExecuteNonQueryAsync();

        var catalog = new PgTypeCatalog(dataSource);
        var (rows, failures) = await RenderingOracle.CompareTableAsync(dataSource, catalog, "h", id => cases[id - 1].Note);
        Assert.Equal(cases.Length, rows);
        Assert.True(failures.Count == 0, $"{failures.Count} value(s) differ from to_jsonb():\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task Random_values_render_like_to_jsonb()
    {
        var cs = await fixture.CreateDatabaseAsync("render");
        await using var dataSource = RenderingOracle.CreateDataSource(cs);
        await using (var cmd = dataSource.CreateCommand(UserTypes + """
            CREATE TABLE r (
                id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, num numeric, f4 float4, f8 float8, t text, bp char(5),
                ts timestamp, tstz timestamptz, d date, b bool, iv interval, by bytea, j jsonb, js json,
                ta text[], na numeric[], fa float8[], ia int4[], tsa timestamptz[], it inner_t, ita inner_t[], m mood, r int4range);
            """))
            await cmd.ExecuteNonQueryAsync();

        var rnd = new Random(20240611);
        const int count = 300;
        var describe = new Dictionary<int, string>();
        await using (var batch = dataSource.CreateBatch())
        {
            for (int id = 1; id <= count; id++)
            {
                var values = new List<object?>
                {
                    Maybe(rnd, () => rnd.Next(short.MinValue, short.MaxValue + 1).ToString(CultureInfo.InvariantCulture)),
                    Maybe(rnd, () => Pick(rnd, rnd.Next().ToString(CultureInfo.InvariantCulture), int.MinValue.ToString(CultureInfo.InvariantCulture), (-rnd.Next()).ToString(CultureInfo.InvariantCulture))),
                    Maybe(rnd, () => Pick(rnd, rnd.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture), long.MinValue.ToString(CultureInfo.InvariantCulture), "0")),
                    Maybe(rnd, () => RandomNumeric(rnd)),
                    Maybe(rnd, () => RandomFloat4(rnd)),
                    Maybe(rnd, () => RandomFloat8(rnd)),
                    Maybe(rnd, () => RandomText(rnd, 12)),
                    Maybe(rnd, () => RandomText(rnd, 5)),
                    Maybe(rnd, () => RandomTimestamp(rnd, withZone: false)),
                    Maybe(rnd, () => RandomTimestamp(rnd, withZone: true)),
                    Maybe(rnd, () => RandomDate(rnd)),
                    Maybe(rnd, () => rnd.Next(2) == 0 ? "true" : "false"),
                    Maybe(rnd, () => RandomInterval(rnd)),
                    Maybe<object>(rnd, () => RandomBytes(rnd)),
                    Maybe(rnd, () => RandomJson(rnd, 0)),
                    Maybe(rnd, () => RandomJson(rnd, 0)),
                    Maybe<object>(rnd, () => Enumerable.Range(0, rnd.Next(5)).Select(_ => rnd.Next(5) == 0 ? null : RandomText(rnd, 8)).ToArray()),
                    Maybe(rnd, () => "{" + string.Join(",", Enumerable.Range(0, rnd.Next(5)).Select(_ => rnd.Next(6) == 0 ? "NULL" : RandomNumeric(rnd))) + "}"),
                    Maybe(rnd, () => "{" + string.Join(",", Enumerable.Range(0, rnd.Next(5)).Select(_ => rnd.Next(6) == 0 ? "NULL" : RandomFloat8(rnd))) + "}"),
                    Maybe(rnd, () => RandomIntMatrix(rnd)),
                    Maybe(rnd, () => "{" + string.Join(",", Enumerable.Range(0, rnd.Next(4)).Select(_ => rnd.Next(6) == 0 ? "NULL" : "\"" + RandomTimestamp(rnd, true) + "\"")) + "}"),
                    Maybe(rnd, () => rnd.Next(5) == 0 ? null : rnd.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture)),
                    Maybe(rnd, () => rnd.Next(5) == 0 ? null : RandomText(rnd, 10)),
                    Maybe<object>(rnd, () => Enumerable.Range(0, rnd.Next(4)).Select(_ => rnd.Next(4) == 0 ? null : RandomText(rnd, 8)).ToArray()),
                    Maybe(rnd, () => Pick(rnd, "sad", "ok", "happy", "with space", "quo\"te", "NULL")),
                    Maybe(rnd, () => RandomRange(rnd)),
                };
                var cmd = batch.CreateBatchCommand();
                // it: composite from (x, y); ita: array of composites from parallel arrays.
                cmd.CommandText = """
                    INSERT INTO r VALUES ($1::int, $2::int2, $3::int4, $4::int8, $5::numeric, $6::float4, $7::float8, $8::text, $9::char(5), $10::timestamp,
                        $11::timestamptz, $12::date, $13::bool, $14::interval, $15::bytea, $16::jsonb, $17::json, $18::text[], $19::numeric[], $20::float8[],
                        $21::int4[], $22::timestamptz[],
                        CASE WHEN $23::int IS NULL AND $24::text IS NULL THEN NULL ELSE ROW($23::int, $24::text)::inner_t END,
                        (SELECT array_agg(ROW(k::int, v)::inner_t) FROM unnest($25::text[]) WITH ORDINALITY AS u(v, k)),
                        $26::mood, $27::int4range)
                    """;
                cmd.Parameters.Add(new NpgsqlParameter { Value = id });
                foreach (var v in values)
                {
                    var p = new NpgsqlParameter { Value = v ?? DBNull.Value };
                    p.NpgsqlDbType = v switch
                    {
                        byte[] => NpgsqlDbType.Bytea,
                        string?[] => NpgsqlDbType.Array | NpgsqlDbType.Text,
                        _ => NpgsqlDbType.Text,
                    };
                    cmd.Parameters.Add(p);
                }
                batch.BatchCommands.Add(cmd);
                describe[id] = "random row " + id;
            }
            await batch.ExecuteNonQueryAsync();
        }

        var catalog = new PgTypeCatalog(dataSource);
        var (rows, failures) = await RenderingOracle.CompareTableAsync(dataSource, catalog, "r", id => describe[id]);
        Assert.Equal(count, rows);
        Assert.True(failures.Count == 0, $"{failures.Count} value(s) differ from to_jsonb():\n" + string.Join("\n", failures));
    }

    private static T? Maybe<T>(Random rnd, Func<T?> make) where T : class => rnd.Next(8) == 0 ? null : make();

    private static string Pick(Random rnd, params string[] options) => options[rnd.Next(options.Length)];

    private static string RandomNumeric(Random rnd)
    {
        switch (rnd.Next(12))
        {
            case 0: return Pick(rnd, "NaN", "Infinity", "-Infinity");
            case 1: return $"{rnd.Next(1, 10)}.{rnd.Next(0, 1000)}e{rnd.Next(-300, 300)}";
        }
        var sb = new StringBuilder();
        if (rnd.Next(2) == 0) sb.Append('-');
        int intDigits = rnd.Next(0, 30);
        sb.Append(rnd.Next(10));
        for (int i = 0; i < intDigits; i++) sb.Append(rnd.Next(10));
        if (rnd.Next(2) == 0)
        {
            sb.Append('.');
            int frac = rnd.Next(1, 25);
            for (int i = 0; i < frac; i++) sb.Append(rnd.Next(10));
        }
        return sb.ToString();
    }

    private static string RandomFloat8(Random rnd)
    {
        double d = rnd.Next(10) switch
        {
            0 => Pick(rnd, "nan", "inf", "-inf", "-0", "max", "eps") switch
            {
                "nan" => double.NaN,
                "inf" => double.PositiveInfinity,
                "-inf" => double.NegativeInfinity,
                "-0" => -0.0,
                "max" => double.MaxValue,
                _ => double.Epsilon,
            },
            1 or 2 => Math.Round((rnd.NextDouble() - 0.5) * 1e6, rnd.Next(0, 6)),
            _ => BitConverter.Int64BitsToDouble(rnd.NextInt64(long.MinValue, long.MaxValue)),
        };
        return d.ToString("R", CultureInfo.InvariantCulture);
    }

    private static string RandomFloat4(Random rnd)
    {
        float f = rnd.Next(8) switch
        {
            0 => Pick(rnd, "nan", "inf", "-inf", "-0") switch
            {
                "nan" => float.NaN,
                "inf" => float.PositiveInfinity,
                "-inf" => float.NegativeInfinity,
                _ => -0f,
            },
            1 => (float)Math.Round((rnd.NextDouble() - 0.5) * 1e4, 3),
            _ => BitConverter.Int32BitsToSingle(rnd.Next(int.MinValue, int.MaxValue)),
        };
        return f.ToString("R", CultureInfo.InvariantCulture);
    }

    private static readonly string[] TextPieces =
    [
        "a", "b", "Z", "0", "9", " ", ",", ";", "\"", "\\", "{", "}", "(", ")", "[", "]", "=", ":", "'", "NULL", "null",
        "\t", "\n", "\r", "é", "€", "😀", "中", "\u2028", "\u0001", "\u007f", "  ", "\"\"", "\\\\", "T", "+00",
    ];

    private static string RandomText(Random rnd, int maxPieces)
    {
        if (rnd.Next(15) == 0) return Pick(rnd, "", "NULL", "null", " ", "\"\"");
        var sb = new StringBuilder();
        int n = rnd.Next(1, maxPieces + 1);
        for (int i = 0; i < n; i++) sb.Append(TextPieces[rnd.Next(TextPieces.Length)]);
        return sb.ToString();
    }

    private static string RandomTimestamp(Random rnd, bool withZone)
    {
        if (rnd.Next(20) == 0) return Pick(rnd, "infinity", "-infinity");
        var date = RandomDateParts(rnd, out var bc);
        var sb = new StringBuilder(date);
        sb.Append(CultureInfo.InvariantCulture, $" {rnd.Next(24):00}:{rnd.Next(60):00}:{rnd.Next(60):00}");
        if (rnd.Next(2) == 0) sb.Append(CultureInfo.InvariantCulture, $".{rnd.Next(0, 1000000):000000}");
        if (withZone)
        {
            int minutes = rnd.Next(-12 * 60, 14 * 60 + 1);
            if (rnd.Next(2) == 0) minutes = minutes / 60 * 60;
            sb.Append(minutes < 0 ? '-' : '+').Append(CultureInfo.InvariantCulture, $"{Math.Abs(minutes) / 60:00}:{Math.Abs(minutes) % 60:00}");
        }
        if (bc) sb.Append(" BC");
        return sb.ToString();
    }

    private static string RandomDate(Random rnd)
    {
        if (rnd.Next(20) == 0) return Pick(rnd, "infinity", "-infinity");
        var date = RandomDateParts(rnd, out var bc);
        return bc ? date + " BC" : date;
    }

    private static string RandomDateParts(Random rnd, out bool bc)
    {
        bc = rnd.Next(10) == 0;
        int year = rnd.Next(10) switch
        {
            0 => rnd.Next(1, 4713),
            1 => rnd.Next(10000, 294276),
            _ => rnd.Next(1, 10000),
        };
        if (bc) year = Math.Min(year, 4712);
        return string.Create(CultureInfo.InvariantCulture, $"{year:0000}-{rnd.Next(1, 13):00}-{rnd.Next(1, 29):00}");
    }

    private static string RandomInterval(Random rnd) => string.Create(CultureInfo.InvariantCulture,
        $"{rnd.Next(-100, 100)} years {rnd.Next(-20, 20)} mons {rnd.Next(-400, 400)} days {rnd.Next(-48, 48)}:{rnd.Next(60):00}:{rnd.Next(60):00}.{rnd.Next(1000000):000000}");

    private static byte[] RandomBytes(Random rnd)
    {
        var bytes = new byte[rnd.Next(0, 12)];
        rnd.NextBytes(bytes);
        return bytes;
    }

    private static string RandomJson(Random rnd, int depth)
    {
        int kind = depth > 2 ? rnd.Next(5) : rnd.Next(7);
        switch (kind)
        {
            case 0: return "null";
            case 1: return rnd.Next(2) == 0 ? "true" : "false";
            case 2: return Pick(rnd, "0", "-1.5", "1e300", "-0", "123456789012345678901234567890", "1.000", "2E-7");
            case 3:
            case 4: return JsonSerializer.Serialize(RandomText(rnd, 6));
            case 5: return "[" + string.Join(", ", Enumerable.Range(0, rnd.Next(4)).Select(_ => RandomJson(rnd, depth + 1))) + "]";
            default:
                return "{" + string.Join(",", Enumerable.Range(0, rnd.Next(4))
                    .Select(_ => JsonSerializer.Serialize(RandomText(rnd, 3)) + " : " + RandomJson(rnd, depth + 1))) + "}";
        }
    }

    private static string RandomIntMatrix(Random rnd)
    {
        int rows = rnd.Next(0, 4), cols = rnd.Next(1, 4);
        if (rows == 0) return "{}";
        var sb = new StringBuilder();
        if (rnd.Next(4) == 0)
        {
            int lower = rnd.Next(-3, 3);
            sb.Append(CultureInfo.InvariantCulture, $"[{lower}:{lower + rows - 1}][1:{cols}]=");
        }
        sb.Append('{');
        for (int r = 0; r < rows; r++)
        {
            if (r > 0) sb.Append(',');
            sb.Append('{');
            for (int c = 0; c < cols; c++)
            {
                if (c > 0) sb.Append(',');
                sb.Append(rnd.Next(6) == 0 ? "NULL" : rnd.Next(int.MinValue, int.MaxValue).ToString(CultureInfo.InvariantCulture));
            }
            sb.Append('}');
        }
        return sb.Append('}').ToString();
    }

    private static string RandomRange(Random rnd)
    {
        if (rnd.Next(6) == 0) return "empty";
        int a = rnd.Next(-1000, 1000), b = a + rnd.Next(1, 100);
        return $"{Pick(rnd, "[", "(")}{(rnd.Next(5) == 0 ? "" : a.ToString(CultureInfo.InvariantCulture))},{(rnd.Next(5) == 0 ? "" : b.ToString(CultureInfo.InvariantCulture))}{Pick(rnd, "]", ")")}";
    }
}
