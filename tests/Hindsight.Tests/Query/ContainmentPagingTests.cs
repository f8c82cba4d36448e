using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>
/// Pages of a filter with a JSON containment condition (context, before, after), which the trail reads in id windows:
/// on a store of 60,000 changes, with matches dense, rare, bunched at one end, and absent, following the cursor in both
/// orders visits exactly the changes PostgreSQL finds for the same condition, in id order, each once.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ContainmentPagingTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Following_the_cursor_visits_exactly_the_matches_PostgreSQL_finds_in_both_orders()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE t (id int PRIMARY KEY)");
        // dense: every third change; rare: every 7,001st; late: only the last 150; nobody: none. The images say which.
        await h.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, before, after, context, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            SELECT 'src', 'db', 'public', CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, g::text, 'UPDATE',
                   jsonb_build_object('id', g, 'tier', CASE WHEN g % 7001 = 0 THEN 'gold' ELSE 'plain' END), jsonb_build_object('id', g),
                   CASE WHEN g > 59850 THEN '{"userId": "late"}'::jsonb
                        WHEN g % 7001 = 0 THEN '{"userId": "rare"}'
                        WHEN g % 3 = 0 THEN '{"userId": "dense", "job": "sync"}'
                        ELSE '{}' END,
                   now() - interval '1 day' + g * interval '1 second', g, g, g, 0, now()
            FROM generate_series(1, 60000) g
            """);
        await h.ExecuteAsync("ANALYZE hindsight.changes");
        var trail = new AuditTrail(h.Source);

        var cases = new (ChangeFilter Filter, string Where, int Limit)[]
        {
            (new ChangeFilter { Context = """{"userId":"dense"}""" }, """context @> '{"userId":"dense"}'""", 100),
            (new ChangeFilter { Context = """{"userId":"dense","job":"sync"}""", Tables = [TableName.Parse("a")] }, """context @> '{"userId":"dense","job":"sync"}' AND "table" = 'a'""", 997),
            (new ChangeFilter { Context = """{"userId":"rare"}""" }, """context @> '{"userId":"rare"}'""", 3),
            (new ChangeFilter { Context = """{"userId":"late"}""" }, """context @> '{"userId":"late"}'""", 40),
            (new ChangeFilter { Context = """{"userId":"nobody"}""" }, """context @> '{"userId":"nobody"}'""", 10),
            (new ChangeFilter { Before = """{"tier":"gold"}""" }, """before @> '{"tier":"gold"}'""", 2),
            (new ChangeFilter { After = """{"id":59999}""", Context = "{}" }, """after @> '{"id":59999}'""", 5),
        };
        foreach (var (filter, where, limit) in cases)
            foreach (var oldestFirst in new[] { false, true })
            {
                var expected = (await h.RowsAsync($"SELECT id FROM hindsight.changes WHERE {where} ORDER BY id {(oldestFirst ? "ASC" : "DESC")}"))
                    .Select(r => long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
                var visited = new List<long>();
                var pages = 0;
                for (long? cursor = null; pages == 0 || cursor is not null; pages++)
                {
                    var page = await trail.QueryAsync(filter, new PageRequest { Limit = limit, OldestFirst = oldestFirst, Cursor = cursor });
                    Assert.True(page.Changes.Count <= limit);
                    Assert.True(page.NextCursor is null || page.Changes.Count == limit, "a page short of its limit said another follows");
                    visited.AddRange(page.Changes.Select(c => c.Id));
                    cursor = page.NextCursor;
                    Assert.True(pages < 1000, "the cursor never ended");
                }
                Assert.Equal(expected, visited);
            }

        // A cursor from the middle, newest first: the matches below it.
        var middle = new PageRequest { Limit = 50, Cursor = 30_000 };
        var below = await trail.QueryAsync(new ChangeFilter { Context = """{"userId":"dense"}""" }, middle);
        var expectedBelow = await h.RowsAsync("""SELECT id::text AS shown FROM hindsight.changes WHERE context @> '{"userId":"dense"}' AND id < 30000 ORDER BY id DESC LIMIT 50""");
        Assert.Equal(expectedBelow.Select(r => r[0]), below.Changes.Select(c => c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
