using Hindsight.Context;
using Hindsight.EntityFrameworkCore;
using Hindsight.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Hindsight.Tests.Temporal;

/// <summary>
/// The operators' boundaries at exact commit times (read from the store), composition (checked by the SQL EF Core
/// sends and by results), periods, Include at the same moment, WrittenBy, and the errors a user can meet.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TemporalBoundaryTests(PostgresFixture fixture)
{
    private static readonly TimeSpan Microsecond = TimeSpan.FromTicks(10);

    // Order 1: created (A), updated (B), deleted (C); order 2: created (A), still current. Returns the commit times.
    private static async Task<(DateTime A, DateTime B, DateTime C)> WriteHistoryAsync(CaptureHarness h)
    {
        await using (var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString)))
        {
            using (HindsightContext.Push(new { user = "ada", role = "sales" }))
            {
                db.Orders.Add(new ShopOrder { Id = 1, Customer = "acme", Total = 10m, Revision = 1, Ship = new ShipTo { City = "Oslo" },
                    Lines = [new OrderLine { LineNo = 1, Sku = "a", Qty = 1, Revision = 1 }, new OrderLine { LineNo = 2, Sku = "b", Qty = 2, Revision = 1 }] });
                db.Orders.Add(new ShopOrder { Id = 2, Customer = "zeta", Total = 5m, Revision = 1 });
                await db.SaveChangesAsync();
            }
            using (HindsightContext.Push(new { user = "bob", role = "support" }))
            {
                var o = await db.Orders.Include(x => x.Lines).SingleAsync(x => x.Id == 1);
                o.Status = OrderStatus.Paid; o.Revision = 2; o.Lines[0].Qty = 9; o.Lines[0].Revision = 2;
                await db.SaveChangesAsync();
            }
        }
        await h.ExecuteAsync("DELETE FROM orders WHERE id = 1");
        await h.CatchUpAsync();
        var times = await h.RowsAsync("""
            SELECT DISTINCT to_char(committed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') FROM hindsight.changes
            WHERE "table" = 'orders' AND primary_key = '1' ORDER BY 1
            """);
        Assert.Equal(3, times.Count);
        DateTime T(int i) => DateTime.SpecifyKind(DateTime.Parse(times[i][0], System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc);
        return (T(0), T(1), T(2));
    }

    [Fact]
    public async Task Temporal_boundaries_follow_SQL_Server_semantics_at_exact_commit_times()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, TemporalShopDb.Sql);
        h.StartWorker();
        var (a, b, c) = await WriteHistoryAsync(h);
        await using var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString));

        async Task<string> Revisions(IQueryable<ShopOrder> q) =>
            string.Join(",", (await q.Where(o => o.Id == 1).Select(o => o.Revision).ToListAsync()).Order());

        // AsOf: PeriodStart <= t < PeriodEnd.
        Assert.Equal("", await Revisions(db.Orders.TemporalAsOf(a - Microsecond)));
        Assert.Equal("1", await Revisions(db.Orders.TemporalAsOf(a)));
        Assert.Equal("1", await Revisions(db.Orders.TemporalAsOf(b - Microsecond)));
        Assert.Equal("2", await Revisions(db.Orders.TemporalAsOf(b)));
        Assert.Equal("", await Revisions(db.Orders.TemporalAsOf(c)));
        // FromTo: PeriodStart < to and PeriodEnd > from.
        Assert.Equal("1", await Revisions(db.Orders.TemporalFromTo(a, b)));
        Assert.Equal("2", await Revisions(db.Orders.TemporalFromTo(b, c)));
        Assert.Equal("", await Revisions(db.Orders.TemporalFromTo(c, c.AddDays(1))));
        // Between: PeriodStart <= to and PeriodEnd > from.
        Assert.Equal("1,2", await Revisions(db.Orders.TemporalBetween(a, b)));
        Assert.Equal("2", await Revisions(db.Orders.TemporalBetween(b, c)));
        Assert.Equal("1", await Revisions(db.Orders.TemporalBetween(a - TimeSpan.FromDays(1), a)));
        // ContainedIn: PeriodStart >= from and PeriodEnd <= to.
        Assert.Equal("1", await Revisions(db.Orders.TemporalContainedIn(a, b)));
        Assert.Equal("", await Revisions(db.Orders.TemporalContainedIn(a + Microsecond, b)));
        Assert.Equal("", await Revisions(db.Orders.TemporalContainedIn(a, b - Microsecond)));
        Assert.Equal("1,2", await Revisions(db.Orders.TemporalContainedIn(a, c)));
        // All, with the periods.
        var periods = await db.Orders.TemporalAll().OrderBy(o => o.Id).ThenBy(o => EF.Property<DateTime>(o, "PeriodStart"))
            .Select(o => new { o.Id, o.Revision, Start = EF.Property<DateTime>(o, "PeriodStart"), End = EF.Property<DateTime>(o, "PeriodEnd") })
            .ToListAsync();
        Assert.Equal([(1, 1, a, b), (1, 2, b, c), (2, 1, a, DateTime.MaxValue)], periods.Select(p => (p.Id, p.Revision, p.Start, p.End)));
        Assert.All(periods, p => Assert.Equal(DateTimeKind.Utc, p.Start.Kind));
        // A local time means the same moment.
        Assert.Equal("2", await Revisions(db.Orders.TemporalAsOf(b.ToLocalTime())));
    }

    [Fact]
    public async Task Temporal_queries_compose_in_SQL_include_at_the_same_moment_and_filter_by_who_wrote()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, TemporalShopDb.Sql);
        h.StartWorker();
        var (a, b, c) = await WriteHistoryAsync(h);
        var log = new CommandLog();
        await using var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString, log));

        // Composition runs in PostgreSQL: WHERE, ORDER BY on a period, OFFSET/LIMIT, count(*).
        var page = await db.Orders.TemporalAll().Where(o => o.Customer != "nobody")
            .OrderByDescending(o => EF.Property<DateTime>(o, "PeriodStart")).ThenBy(o => o.Id).Skip(1).Take(1).Select(o => o.Revision).ToListAsync();
        Assert.Equal([1], page); // newest first: order 1 rev 2 (b), then order 1 rev 1 and order 2 (both a; id 1 first)
        Assert.Contains("LIMIT", log.Text!, StringComparison.Ordinal);
        Assert.Contains("OFFSET", log.Text!, StringComparison.Ordinal);
        Assert.Contains("\"PeriodStart\" DESC", log.Text!, StringComparison.Ordinal);
        Assert.Equal(3, await db.Orders.TemporalAll().CountAsync());
        Assert.Contains("count(*)", log.Text!, StringComparison.Ordinal);
        Assert.Equal(1, await db.Orders.TemporalAll().CountAsync(o => EF.Property<DateTime>(o, "PeriodEnd") == DateTime.MaxValue));

        // A key asked for is read by key from the trail (an index range), and gives what the whole table gives.
        var one = await db.Orders.TemporalAsOf(b).Where(o => o.Id == 1).SingleAsync();
        Assert.Contains("c.primary_key = (", log.Text!, StringComparison.Ordinal);
        Assert.Equal((OrderStatus.Paid, "Oslo", 10.00m, 2), (one.Status, one.Ship.City, one.Total, one.Revision));
        var lines = await db.Lines.TemporalAsOf(b).Where(l => l.OrderId == 1).OrderBy(l => l.LineNo).Select(l => l.Qty).ToListAsync();
        Assert.Equal([9, 2], lines);
        // A composite key of integers, every part given: read by key too.
        var line = await db.Lines.TemporalAsOf(b).SingleAsync(l => l.LineNo == 1 && l.OrderId == 1);
        Assert.Contains("c.primary_key = '[' || (", log.Text!, StringComparison.Ordinal);
        Assert.Equal((9, 2), (line.Qty, line.Revision));
        Assert.Equal(1, (await db.Lines.TemporalAsOf(a).SingleAsync(l => l.OrderId == 1 && l.LineNo == 1)).Qty);
        Assert.Empty(await db.Lines.TemporalAsOf(b).Where(l => l.OrderId == 1 && l.LineNo == 3).ToListAsync());

        // Entities are not tracked.
        var asOf = await db.Orders.TemporalAsOf(a).ToListAsync();
        Assert.Equal(2, asOf.Count);
        Assert.Empty(db.ChangeTracker.Entries());

        // Include reads the lines as of the same moment.
        var withLines = await db.Orders.TemporalAsOf(b).Include(o => o.Lines).OrderBy(o => o.Id).ToListAsync();
        Assert.Equal([(1, "1:9,2:2"), (2, "")], withLines.Select(o => (o.Id, string.Join(",", o.Lines.OrderBy(l => l.LineNo).Select(l => $"{l.LineNo}:{l.Qty}")))));
        var before = await db.Orders.TemporalAsOf(a).Include(o => o.Lines).SingleAsync(o => o.Id == 1);
        Assert.Equal("1:1,2:2", string.Join(",", before.Lines.OrderBy(l => l.LineNo).Select(l => $"{l.LineNo}:{l.Qty}")));
        Assert.Empty(await db.Orders.TemporalAsOf(c).Include(o => o.Lines).Where(o => o.Id == 1).ToListAsync());
        Assert.Throws<InvalidOperationException>(() => db.Orders.TemporalAll().Include(o => o.Lines).ToList());

        // WrittenBy: the versions a support user wrote.
        var bySupport = await db.Orders.TemporalAll().WrittenBy(new { role = "support" }).ToListAsync();
        Assert.Equal([(1, 2)], bySupport.Select(o => (o.Id, o.Revision)));
        Assert.Equal(2, await db.Lines.TemporalAll().WrittenBy("""{"user": "ada"}""").CountAsync()); // both lines as created; line 1 was then bob's
        Assert.Empty(await db.Orders.TemporalAll().WrittenBy(new { user = "nobody" }).ToListAsync());
        Assert.Throws<InvalidOperationException>(() => db.Orders.Where(o => o.Id > 0).WrittenBy(new { user = "ada" }));
        Assert.Throws<ArgumentException>(() => db.Orders.TemporalAll().WrittenBy("[1]"));
    }

    [Fact]
    public async Task Temporal_errors_say_what_to_do()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, TemporalShopDb.Sql);
        h.StartWorker();
        await WriteHistoryAsync(h);

        // PeriodStart of a table read as it is now.
        await using (var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString)))
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                db.Orders.Select(o => EF.Property<DateTime>(o, "PeriodStart")).ToListAsync());
            Assert.Contains("only in temporal queries", e.Message, StringComparison.Ordinal);
        }
        // Without UseHindsightTemporal.
        await using (var plain = new TemporalShopDb(new DbContextOptionsBuilder<TemporalShopDb>().UseNpgsql(h.ConnectionString).Options))
        {
            var e = Assert.Throws<InvalidOperationException>(() => plain.Orders.TemporalAll());
            Assert.Contains("UseHindsightTemporal()", e.Message, StringComparison.Ordinal);
        }
        // The store is not in this database.
        var elsewhere = await fixture.CreateDatabaseAsync();
        await using (var conn = new Npgsql.NpgsqlConnection(elsewhere))
        {
            await conn.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand(TemporalShopDb.Sql, conn);
            await cmd.ExecuteNonQueryAsync();
        }
        await using (var db = new TemporalShopDb(TemporalShopDb.Options(elsewhere)))
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => db.Orders.TemporalAsOf(DateTime.UtcNow).ToListAsync());
            Assert.Contains("postgres_fdw", e.Message, StringComparison.Ordinal);
            Assert.Contains("StoreSchema", e.Message, StringComparison.Ordinal);
        }
        // A source that is not in the store gives nothing; an empty one is refused.
        await using (var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString, temporal: o => o.Source = "no-such-source")))
            Assert.Empty(await db.Orders.TemporalAll().ToListAsync());
        Assert.Throws<ArgumentException>(() => TemporalShopDb.Options(h.ConnectionString, temporal: o => o.Source = " "));
    }
}
