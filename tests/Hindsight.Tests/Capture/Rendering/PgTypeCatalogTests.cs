using Hindsight.Capture.Rendering;
using Hindsight.Tests.Infrastructure;
using Npgsql;

using Xunit;

namespace Hindsight.Tests.Capture.Rendering;

[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class PgTypeCatalogTests(PostgresFixture fixture)
{
    private static async Task<uint> OidAsync(NpgsqlDataSource ds, string type)
    {
        await using var cmd = ds.CreateCommand("SELECT $1::regtype::oid");
        cmd.Parameters.Add(new NpgsqlParameter { Value = type });
        return (uint)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task ExecAsync(NpgsqlDataSource ds, string sql)
    {
        await using var cmd = ds.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Loads_categories_of_builtin_and_user_types()
    {
        await using var ds = RenderingOracle.CreateDataSource(await fixture.CreateDatabaseAsync("catalog"));
        await ExecAsync(ds, PgValueRendererOracleTests.UserTypes + """
            CREATE FUNCTION mood_json(mood) RETURNS json LANGUAGE sql AS $$ SELECT json_build_object('m', $1::text) $$;
            CREATE CAST (mood AS json) WITH FUNCTION mood_json(mood);
            CREATE TYPE plain_enum AS ENUM ('x');
            """);
        var catalog = new PgTypeCatalog(ds);

        async Task<PgTypeInfo> T(string name) => await catalog.ResolveAsync(await OidAsync(ds, name));

        Assert.Equal(JsonCategory.Number, (await T("int4")).Category);
        Assert.Equal(JsonCategory.Number, (await T("numeric")).Category);
        Assert.Equal(JsonCategory.Text, (await T("money")).Category);
        Assert.Equal(JsonCategory.Text, (await T("oid")).Category);
        Assert.Equal(JsonCategory.Text, (await T("name")).Category);
        Assert.Equal(JsonCategory.Text, (await T("point")).Category); // has typelem, but not a true array
        Assert.Equal(JsonCategory.TimestampTz, (await T("timestamptz")).Category);
        Assert.Equal(JsonCategory.Text, (await T("plain_enum")).Category);
        Assert.Equal(JsonCategory.JsonCast, (await T("mood")).Category);
        Assert.Equal(JsonCategory.Text, (await T("int4range")).Category);
        Assert.Equal(JsonCategory.Text, (await T("int4multirange")).Category);

        var boxes = await T("box[]");
        Assert.Equal(JsonCategory.Array, boxes.Category);
        Assert.Equal(';', boxes.Delimiter);
        Assert.Equal("box", boxes.Element!.Name);

        var vector = await T("int2vector");
        Assert.Equal(JsonCategory.Array, vector.Category);
        Assert.True(vector.IsVector);
        Assert.Equal(JsonCategory.Number, vector.Element!.Category);

        var posint2 = await T("posint2");
        Assert.Equal(JsonCategory.Number, posint2.Category);
        Assert.Equal("int4", posint2.BaseType!.Name);

        var intarr = await T("intarr");
        Assert.Equal(JsonCategory.Array, intarr.Category);
        Assert.Equal("int4", intarr.Element!.Name);

        var compd = await T("compd");
        Assert.Equal(JsonCategory.Composite, compd.Category);
        Assert.Equal(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"], compd.Attributes.Select(a => a.Name));
        Assert.Equal(JsonCategory.Composite, compd.Attributes[4].Type.Category);
        Assert.Equal(JsonCategory.Array, compd.Attributes[7].Type.Category);
        Assert.Equal(JsonCategory.Composite, compd.Attributes[7].Type.Element!.Category);

        var dropped = await T("dropped_t");
        Assert.Equal(["a", "c"], dropped.Attributes.Select(a => a.Name));

        var arrayOfDomainOverArray = await T("intarr[]");
        Assert.Equal(JsonCategory.Array, arrayOfDomainOverArray.Element!.Category);

        Assert.Empty((await T("empty_t")).Attributes);
    }

    [Fact]
    public async Task Cache_hits_are_synchronous_and_get_requires_resolve()
    {
        await using var ds = RenderingOracle.CreateDataSource(await fixture.CreateDatabaseAsync("catalog"));
        var catalog = new PgTypeCatalog(ds);

        var error = Assert.Throws<InvalidOperationException>(() => catalog.Get(PgTypeInfo.Oids.Int4));
        Assert.Contains("23", error.Message);

        var first = await catalog.ResolveAsync(1007); // int4[]
        Assert.Same(first, catalog.Get(1007));
        Assert.Same(first.Element, catalog.Get(PgTypeInfo.Oids.Int4));
        var hit = catalog.ResolveAsync(1007);
        Assert.True(hit.IsCompletedSuccessfully);
        Assert.Same(first, await hit);

        await Assert.ThrowsAsync<KeyNotFoundException>(async () => await catalog.ResolveAsync(4_000_000_000));

        // Types created after the catalog was first used are found on a miss.
        await ExecAsync(ds, "CREATE TYPE late AS (v int)");
        var late = await catalog.ResolveAsync(await OidAsync(ds, "late[]"));
        Assert.Equal("v", late.Element!.Attributes[0].Name);
    }

    [Fact]
    public async Task Invalidate_reloads_an_altered_composite_and_its_dependents()
    {
        await using var ds = RenderingOracle.CreateDataSource(await fixture.CreateDatabaseAsync("catalog"));
        await ExecAsync(ds, """
            CREATE TYPE pair AS (a int, b text);
            CREATE TYPE holder AS (p pair, ps pair[]);
            CREATE TABLE t (id int PRIMARY KEY, h holder, ps pair[]);
            """);
        var catalog = new PgTypeCatalog(ds);
        uint pairOid = await OidAsync(ds, "pair"), holderOid = await OidAsync(ds, "holder"), pairArrayOid = await OidAsync(ds, "pair[]");
        await catalog.ResolveManyAsync([holderOid, pairArrayOid, PgTypeInfo.Oids.Int4]);
        Assert.Equal(2, catalog.Get(pairOid).Attributes.Count);

        await ExecAsync(ds, """
            ALTER TYPE pair ADD ATTRIBUTE c timestamptz;
            INSERT INTO t VALUES (1, ROW(ROW(1, 'x', '2020-01-01 00:00+00'), ARRAY[ROW(2, 'y', NULL)::pair])::holder, ARRAY[ROW(NULL, NULL, 'infinity')::pair]);
            """);

        // The stale type no longer fits the record text: the renderer says so instead of guessing.
        await using (var cmd = ds.CreateCommand("SELECT h FROM t"))
        {
            cmd.AllResultTypesAreUnknown = true;
            var text = (string)(await cmd.ExecuteScalarAsync())!;
            var error = Assert.Throws<PgValueFormatException>(() => RenderingOracle.RenderValue(catalog.Get(holderOid), text));
            Assert.Equal(pairOid, error.TypeOid);
        }

        catalog.Invalidate(pairOid);
        Assert.False(catalog.TryGet(pairOid, out _));
        Assert.False(catalog.TryGet(holderOid, out _));
        Assert.False(catalog.TryGet(pairArrayOid, out _));
        Assert.True(catalog.TryGet(PgTypeInfo.Oids.Int4, out _));

        var pair = await catalog.ResolveAsync(pairOid);
        Assert.Equal(["a", "b", "c"], pair.Attributes.Select(a => a.Name));
        var (rows, failures) = await RenderingOracle.CompareTableAsync(ds, catalog, "t", id => $"row {id}");
        Assert.Equal(1, rows);
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // Dropped attributes are skipped, as record_out and to_jsonb skip them.
        await ExecAsync(ds, """
            ALTER TYPE pair DROP ATTRIBUTE a;
            INSERT INTO t VALUES (2, ROW(ROW('z', '-infinity'), NULL)::holder, ARRAY[ROW('w', NULL)::pair]);
            """);
        catalog.Invalidate(pairOid);
        (rows, failures) = await RenderingOracle.CompareTableAsync(ds, catalog, "t", id => $"row {id}");
        Assert.Equal(2, rows);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(["b", "c"], catalog.Get(pairOid).Attributes.Select(a => a.Name));
    }
}
