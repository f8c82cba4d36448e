using Hindsight.EntityFrameworkCore;
using Hindsight.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Hindsight.Tests.Temporal;

/// <summary>
/// EF Core's temporal operators over the trail, against real copies: a random EF Core workload (inserts, updates,
/// deletes by EF and by the database's cascade, keys coming back, TRUNCATE by SQL, two updates in one transaction), a
/// copy of both tables after every step, and each operator's SQL run again in PostgreSQL and compared with what
/// PostgreSQL computes from the copies.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TemporalOperatorTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Temporal_operators_equal_real_copies_at_random_moments()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, TemporalShopDb.Sql, replicaIdentityFull: false);
        h.StartWorker();
        var workload = new TemporalWorkload(h, seed: 2112);
        const int steps = 60;
        await workload.RunAsync(steps);
        await h.CatchUpAsync();
        var random = new Random(7);
        var log = new CommandLog();
        await using var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString, log));

        async Task AssertSame(Func<Task<int>> run, string table, string expected, string what)
        {
            var materialized = await run();
            var (difference, rows) = await TemporalOracle.CompareAsync(h, log, expected);
            Assert.True(difference.Length == 0, $"{what}:\n{difference}");
            Assert.Equal(rows, materialized);
        }

        // As of 10 random moments (each the moment right after a step), and right after each step's transaction.
        var nonEmpty = 0;
        foreach (var step in Enumerable.Range(0, 10).Select(_ => random.Next(steps + 1)))
        {
            var at = workload.Moments[step];
            await AssertSame(async () => (await db.Orders.TemporalAsOf(at).ToListAsync()).Count, "orders",
                TemporalOracle.At("orders", step), $"orders as of step {step}");
            await AssertSame(async () => (await db.Lines.TemporalAsOf(at).ToListAsync()).Count, "order_lines",
                TemporalOracle.At("order_lines", step), $"lines as of step {step}");
            if (await h.ScalarAsync<long>($"SELECT count(*) FROM ({TemporalOracle.At("orders", step)}) x") > 0) nonEmpty++;
            if (workload.Transactions[step] is var xid and > 0)
                await AssertSame(async () => (await db.Orders.TemporalAsOfTransaction(xid).ToListAsync()).Count, "orders",
                    TemporalOracle.At("orders", step), $"orders as of transaction {xid} (step {step})");
        }
        Assert.True(nonEmpty >= 5, "most random moments should see orders");

        // Ranges between random moments, and every version.
        for (var n = 0; n < 6; n++)
        {
            var a = random.Next(steps);
            var b = random.Next(a + 1, steps + 1);
            var (from, to) = (workload.Moments[a], workload.Moments[b]);
            foreach (var table in new[] { "orders", "order_lines" })
            {
                async Task<int> List(Func<DbSet<ShopOrder>, IQueryable<ShopOrder>> orders, Func<DbSet<OrderLine>, IQueryable<OrderLine>> lines) =>
                    table == "orders" ? (await orders(db.Orders).ToListAsync()).Count : (await lines(db.Lines).ToListAsync()).Count;
                await AssertSame(() => List(o => o.TemporalFromTo(from, to), l => l.TemporalFromTo(from, to)), table,
                    TemporalOracle.SeenIn(table, a, b), $"{table} from step {a} to {b}");
                await AssertSame(() => List(o => o.TemporalBetween(from, to), l => l.TemporalBetween(from, to)), table,
                    TemporalOracle.SeenIn(table, a, b), $"{table} between step {a} and {b}");
                await AssertSame(() => List(o => o.TemporalContainedIn(from, to), l => l.TemporalContainedIn(from, to)), table,
                    TemporalOracle.WithinOnly(table, a, b), $"{table} contained in steps {a}..{b}");
            }
        }
        await AssertSame(async () => (await db.Orders.TemporalAll().ToListAsync()).Count, "orders",
            TemporalOracle.SeenIn("orders", 0, steps), "every version of orders");
        await AssertSame(async () => (await db.Lines.TemporalAll().ToListAsync()).Count, "order_lines",
            TemporalOracle.SeenIn("order_lines", 0, steps), "every version of lines");
    }
}
