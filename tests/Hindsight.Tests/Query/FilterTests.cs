using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>Filters alone and combined, keyset pagination, and hostile input.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class FilterTests(PostgresFixture fixture)
{
    private const string Hostile = "x'; DROP TABLE hindsight.changes; --";

    private static async Task<CaptureHarness> WorkloadAsync(PostgresFixture fixture)
    {
        var h = await CaptureHarness.CreateAsync(fixture,
            """
            CREATE TABLE t1 (id int PRIMARY KEY, v text);
            CREATE TABLE t2 (id int PRIMARY KEY, v text);
            CREATE TABLE "we'ird ""t"" 🦄" (id int PRIMARY KEY, v text);
            """);
        h.StartWorker();
        for (var i = 1; i <= 12; i++)
        {
            var user = i % 3 == 0 ? "O'Brien; DROP TABLE t1 --" : i % 3 == 1 ? "u1" : "Zoë 🦄";
            await h.ExecuteAsync(
                $"BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', $1); INSERT INTO t1 VALUES ({i}, 'v{i}'); INSERT INTO t2 VALUES ({i}, 'w{i}'); UPDATE t1 SET v = v || '!' WHERE id = {i}; COMMIT;"
                    .Replace("$1", "'" + System.Text.Json.JsonSerializer.Serialize(new { userId = user }).Replace("'", "''") + "'"));
        }
        await h.ExecuteAsync("DELETE FROM t2 WHERE id > 9");
        await h.ExecuteAsync("INSERT INTO \"we'ird \"\"t\"\" 🦄\" VALUES (1, 'odd')");
        await h.ExecuteAsync("TRUNCATE t2");
        await h.CatchUpAsync();
        return h;
    }

    private static async Task<List<long>> AllAsync(AuditTrail trail, ChangeFilter filter, bool oldestFirst, int limit = 4)
    {
        var ids = new List<long>();
        long? cursor = null;
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = await trail.QueryAsync(filter, new PageRequest { Limit = limit, OldestFirst = oldestFirst, Cursor = cursor });
            Assert.True(page.Changes.Count <= limit);
            ids.AddRange(page.Changes.Select(c => c.Id));
            if (page.NextCursor is null) return ids;
            Assert.Equal(limit, page.Changes.Count);
            cursor = page.NextCursor;
        }
        throw new InvalidOperationException("pagination does not end");
    }

    private static async Task AssertMatchesAsync(CaptureHarness h, AuditTrail trail, ChangeFilter filter, string where, params object[] ps)
    {
        var expected = (await h.RowsAsync($"SELECT id FROM hindsight.changes c WHERE {where} ORDER BY id", ps)).Select(r => long.Parse(r[0])).ToList();
        Assert.NotEmpty(expected);
        var oldest = await AllAsync(trail, filter, oldestFirst: true);
        var newest = await AllAsync(trail, filter, oldestFirst: false);
        Assert.Equal(expected, oldest);
        Assert.Equal(expected.AsEnumerable().Reverse(), newest);
    }

    [Fact]
    public async Task Each_filter_alone_and_combined_and_pagination_visits_every_change_once_in_both_orders()
    {
        await using var h = await WorkloadAsync(fixture);
        var trail = new AuditTrail(h.Source);
        var xid = await h.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE \"table\" = 't1' AND primary_key = '5' LIMIT 1");
        var mid = await h.ScalarAsync<DateTime>("SELECT committed_at FROM hindsight.changes WHERE \"table\" = 't1' AND primary_key = '6' LIMIT 1");
        var db = await h.ScalarAsync<string>("SELECT current_database()");

        await AssertMatchesAsync(h, trail, new ChangeFilter(), "true");
        await AssertMatchesAsync(h, trail, new ChangeFilter { Tables = [TableName.Parse("t1")] }, "\"table\" = 't1'");
        await AssertMatchesAsync(h, trail, new ChangeFilter { Tables = [TableName.Parse("public.t1"), TableName.Parse("t2")] }, "\"table\" IN ('t1', 't2')");
        await AssertMatchesAsync(h, trail, new ChangeFilter { PrimaryKey = "3" }, "primary_key = '3'");
        await AssertMatchesAsync(h, trail, new ChangeFilter { Operations = [Operation.Delete, Operation.Truncate] }, "operation IN ('DELETE', 'TRUNCATE')");
        await AssertMatchesAsync(h, trail, new ChangeFilter { Since = mid }, "committed_at >= $1", mid);
        await AssertMatchesAsync(h, trail, new ChangeFilter { Until = mid }, "committed_at < $1", mid);
        await AssertMatchesAsync(h, trail, new ChangeFilter { TransactionId = xid }, "transaction_id = $1", xid);
        await AssertMatchesAsync(h, trail, new ChangeFilter { Database = db }, "database = $1", db);
        await AssertMatchesAsync(h, trail, new ChangeFilter { Context = """{"userId":"u1"}""" }, "context @> '{\"userId\":\"u1\"}'");
        await AssertMatchesAsync(h, trail, new ChangeFilter { Context = """{"userId":"Zoë 🦄"}""" }, "context->>'userId' = 'Zoë 🦄'");
        await AssertMatchesAsync(h, trail, new ChangeFilter { Context = """{"userId":"O'Brien; DROP TABLE t1 --"}""" }, "context->>'userId' LIKE 'O''Brien%'");
        await AssertMatchesAsync(h, trail, new ChangeFilter { After = """{"v":"v3!"}""" }, "after @> '{\"v\":\"v3!\"}'");
        await AssertMatchesAsync(h, trail, new ChangeFilter { Before = """{"id":10}""" }, "before @> '{\"id\":10}'");
        await AssertMatchesAsync(h, trail, new ChangeFilter { Tables = [TableName.Parse("\"we'ird \"\"t\"\" 🦄\"")] }, "\"table\" = 'we''ird \"t\" 🦄'");
        // Combined: all must hold.
        await AssertMatchesAsync(h, trail,
            new ChangeFilter { Tables = [TableName.Parse("t1")], Operations = [Operation.Update], Since = mid, Context = """{"userId":"u1"}""", Database = db },
            "\"table\" = 't1' AND operation = 'UPDATE' AND committed_at >= $1 AND context @> '{\"userId\":\"u1\"}'", mid);
        // The page size at its bounds.
        Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"),
            (await trail.QueryAsync(new ChangeFilter(), new PageRequest { Limit = PageRequest.MaxLimit })).Changes.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PageRequest { Limit = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PageRequest { Limit = PageRequest.MaxLimit + 1 });
    }

    [Fact]
    public async Task Hostile_input_is_only_ever_a_value_and_non_objects_are_refused()
    {
        await using var h = await WorkloadAsync(fixture);
        var trail = new AuditTrail(h.Source);
        var before = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");

        Assert.Empty((await trail.QueryAsync(new ChangeFilter { Tables = [TableName.Parse(Hostile)] })).Changes);
        Assert.Empty((await trail.QueryAsync(new ChangeFilter { Tables = [new TableName(null, Hostile)] })).Changes);
        Assert.Empty((await trail.QueryAsync(new ChangeFilter { Tables = [new TableName(Hostile, "t1")] })).Changes);
        Assert.Empty((await trail.QueryAsync(new ChangeFilter { PrimaryKey = "1' OR '1'='1" })).Changes);
        Assert.Empty((await trail.QueryAsync(new ChangeFilter { PrimaryKey = "[1, \"'; DROP TABLE t1; --\"]" })).Changes);
        Assert.Empty((await trail.QueryAsync(new ChangeFilter { Context = """{"userId":"'; DROP TABLE hindsight.changes; --"}""" })).Changes);
        Assert.Empty((await trail.HistoryAsync(new TableName(null, Hostile), Hostile)).Versions);
        Assert.Empty((await trail.AsOfAsync(new TableName(null, Hostile), DateTimeOffset.UtcNow, Hostile)).Rows);

        foreach (var notObject in new[] { "[1,2]", "\"str\"", "1", "null", "true", "not json", "{\"a\":", "", "{\"a\":1} {}", "{\"a\":\"\\u0000\"}" })
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => new ChangeFilter { Context = notObject });
            Assert.Contains("context must", e.Message);
            Assert.ThrowsAny<ArgumentException>(() => new ChangeFilter { After = notObject });
            Assert.ThrowsAny<ArgumentException>(() => new ChangeFilter { Before = notObject });
        }
        Assert.Throws<ArgumentException>(() => OperationParser.Parse("MERGE"));
        Assert.Equal(Operation.Create, OperationParser.Parse("insert"));
        Assert.Throws<ArgumentException>(() => TableName.Parse("\"unclosed"));
        Assert.Throws<ArgumentException>(() => TableName.Parse("s."));
        Assert.Equal(new TableName("my.schema", "Order \"Items\""), TableName.Parse("\"my.schema\".\"Order \"\"Items\"\"\""));

        // The store is intact, the tables too.
        Assert.Equal(before, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));
        Assert.Equal(12L, await h.ScalarAsync<long>("SELECT count(*) FROM t1"));
    }
}
