using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>
/// As-of read page by page where most keys were deleted before the cut (a page then takes several batches of keys),
/// with an empty text key, keys that differ only past a shared prefix, and a TRUNCATE followed by keys inserted again:
/// the pages, together, equal a real copy of the table taken at the moment, each row once, in the store's key order.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class AsOfPagingTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Pages_over_mostly_deleted_keys_together_equal_a_real_copy()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture,
            "CREATE TABLE t (k text PRIMARY KEY, n int); CREATE TABLE markers (n int PRIMARY KEY); CREATE SCHEMA copies;");
        h.StartWorker();
        // 400 keys ('', 'k', 'k0' … 'k397'), nine in ten deleted; then a TRUNCATE and 60 of them inserted again, a third deleted.
        await h.ExecuteAsync("INSERT INTO t SELECT CASE g WHEN 0 THEN '' WHEN 1 THEN 'k' ELSE 'k' || (g - 2) END, g FROM generate_series(0, 399) g");
        await h.ExecuteAsync("DELETE FROM t WHERE n % 10 <> 3");
        await h.ExecuteAsync("UPDATE t SET n = n + 1000");
        await MarkerAsync(h, 1);
        await h.ExecuteAsync("TRUNCATE t");
        await h.ExecuteAsync("INSERT INTO t SELECT 'k' || g, g FROM generate_series(100, 159) g");
        await h.ExecuteAsync("DELETE FROM t WHERE n % 3 = 0");
        await h.ExecuteAsync("INSERT INTO t VALUES ('', -1)");
        await MarkerAsync(h, 2);
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        var table = new TableName("public", "t");
        foreach (var n in new[] { 1, 2 })
        {
            var at = await h.ScalarAsync<DateTime>("SELECT committed_at FROM hindsight.changes WHERE \"table\" = 'markers' AND primary_key = $1", n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var point = AsOfPoint.At(new DateTimeOffset(at, TimeSpan.Zero));
            foreach (var size in new[] { 1, 4, 25 })
            {
                var paged = new List<AsOfRow>();
                for (AsOfResult? page = null; page is null || page.NextKey is not null;)
                {
                    page = await trail.AsOfPageAsync(table, point, new AsOfPage(size, page?.NextKey));
                    Assert.True(page.Rows.Count <= size);
                    Assert.True(page.NextKey is null || page.Rows.Count == size, "a short page said another follows");
                    paged.AddRange(page.Rows);
                    Assert.True(paged.Count <= 400, "the pages never ended");
                }
                Assert.Equal(paged.Select(r => r.PrimaryKey).Order(StringComparer.Ordinal), paged.Select(r => r.PrimaryKey));
                Assert.Equal(await h.ScalarAsync<long>($"SELECT count(*) FROM copies.t_{n}"), paged.Count);
                Assert.Empty(await RowSets.DifferencesAsync(h.Source, $"SELECT to_jsonb(x) AS j FROM copies.t_{n} x", paged, ["k"]));
            }
            await AsOfPages.AssertSameAsWholeAsync(trail, table, point, size: 2);
        }
    }

    private static Task MarkerAsync(CaptureHarness h, int n) =>
        h.ExecuteAsync($"BEGIN; CREATE TABLE copies.t_{n} AS SELECT * FROM t; INSERT INTO markers VALUES ({n}); COMMIT;");
}
