using Hindsight.Model;
using Hindsight.Query;
using Xunit;

namespace Hindsight.Tests.Infrastructure;

/// <summary>A table's as-of read page by page, to compare with the same point read whole.</summary>
public static class AsOfPages
{
    /// <summary>Asserts that reading <paramref name="point"/> in pages of <paramref name="size"/> gives the whole read's rows, in key order, each once.</summary>
    public static async Task AssertSameAsWholeAsync(AuditTrail trail, TableName table, AsOfPoint point, string? database = null, int size = 3)
    {
        var whole = await trail.AsOfAsync(table, point, database: database);
        var paged = new List<AsOfRow>();
        for (AsOfResult? page = null; page is null || page.NextKey is not null;)
        {
            page = await trail.AsOfPageAsync(table, point, new AsOfPage(size, page?.NextKey), database);
            Assert.True(page.Rows.Count <= size);
            paged.AddRange(page.Rows);
            Assert.True(paged.Count <= whole.Rows.Count + size, "the pages never ended");
        }
        Assert.Equal(whole.Rows.Select(r => $"{r.PrimaryKey} {r.Row.ToJsonString()}").Order(StringComparer.Ordinal),
            paged.Select(r => $"{r.PrimaryKey} {r.Row.ToJsonString()}"));
    }
}
