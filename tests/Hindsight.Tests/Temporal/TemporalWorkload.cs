using System.Data;
using Hindsight.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Hindsight.Tests.Temporal;

/// <summary>
/// A random EF Core workload on <see cref="TemporalShopDb"/>, one source transaction per step, with PostgreSQL's own
/// record of every state: after each step, real copies of both tables (<c>to_jsonb</c> of each row) and the moment
/// (<c>now()</c> of the copying transaction, after the step's commit and before the next) go into schema
/// <c>oracle</c>, which the harness does not track. Every update bumps <c>revision</c>, so no two versions of a row are
/// equal and a version is exactly a row value seen in consecutive copies.
/// </summary>
internal sealed class TemporalWorkload(CaptureHarness h, int seed)
{
    private readonly Random _random = new(seed);

    /// <summary>The moment after each step (index = step).</summary>
    public List<DateTime> Moments { get; } = [];

    /// <summary>The source transaction of each step (0 for a step that wrote nothing).</summary>
    public List<long> Transactions { get; } = [];

    public const string OracleSql =
        """
        CREATE SCHEMA oracle;
        CREATE TABLE oracle.states (step int NOT NULL, tbl text NOT NULL, row jsonb NOT NULL);
        CREATE TABLE oracle.moments (step int PRIMARY KEY, at timestamptz NOT NULL);
        """;

    public async Task RunAsync(int steps)
    {
        await h.ExecuteAsync(OracleSql);
        await RecordAsync(0, 0);
        for (var step = 1; step <= steps; step++)
        {
            var xid = await StepAsync(step);
            await RecordAsync(step, xid);
        }
    }

    private async Task RecordAsync(int step, long xid)
    {
        await using var conn = await h.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        await using (var cmd = new NpgsqlCommand(
            """
            INSERT INTO oracle.moments VALUES (@s, now());
            INSERT INTO oracle.states SELECT @s, 'orders', to_jsonb(o) FROM orders o;
            INSERT INTO oracle.states SELECT @s, 'order_lines', to_jsonb(l) FROM order_lines l;
            SELECT now();
            """, conn, tx))
        {
            cmd.Parameters.AddWithValue("s", step);
            Moments.Add((DateTime)(await cmd.ExecuteScalarAsync())!);
        }
        await tx.CommitAsync();
        Transactions.Add(xid);
    }

    // One step: one transaction of EF Core writes (or SQL for a TRUNCATE); returns its transaction id.
    private async Task<long> StepAsync(int step)
    {
        await using var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString));
        await using var tx = await db.Database.BeginTransactionAsync();
        var orders = await db.Orders.Include(o => o.Lines).OrderBy(o => o.Id).ToListAsync();
        var roll = _random.Next(100);
        if (roll < 4 && step > 5)
            await db.Database.ExecuteSqlRawAsync("TRUNCATE order_lines, orders");
        else if (roll < 35 || orders.Count < 3)
        {
            // A new order, under a key that may have been used before (deleted, or wiped by a TRUNCATE).
            var free = Enumerable.Range(1, 12).Except(orders.Select(o => o.Id)).ToList();
            if (free.Count == 0) return await UpdateAsync(db, tx, orders, step);
            var id = free[_random.Next(free.Count)];
            var order = new ShopOrder
            {
                Id = id, Customer = "c" + _random.Next(4), Status = OrderStatus.New, Total = _random.Next(1, 50000) / 100m,
                Notes = _random.Next(3) == 0 ? null : $$"""{"step": {{step}}, "tags": ["a", "b"], "gift": {{(_random.Next(2) == 0 ? "true" : "false")}}}""",
                Ship = new ShipTo { Street = _random.Next(4) == 0 ? null : "Main St " + step, City = "City" + _random.Next(3) },
                Revision = step,
            };
            for (var n = 1; n <= _random.Next(0, 4); n++)
                order.Lines.Add(new OrderLine { LineNo = n, Sku = "sku" + _random.Next(9), Qty = _random.Next(1, 5), Revision = step });
            db.Orders.Add(order);
            await db.SaveChangesAsync();
        }
        else if (roll < 50)
        {
            var victim = orders[_random.Next(orders.Count)];
            if (_random.Next(2) == 0)
            {
                db.Orders.Remove(victim); // EF deletes the tracked lines first
                await db.SaveChangesAsync();
            }
            else
                await db.Orders.Where(o => o.Id == victim.Id).ExecuteDeleteAsync(); // the database cascades to the lines
        }
        else if (roll < 58)
        {
            // Two updates of one order in one transaction: the first version lasts no time.
            var o = orders[_random.Next(orders.Count)];
            o.Total += 1; o.Revision = step * 1000;
            await db.SaveChangesAsync();
            o.Status = OrderStatus.Paid; o.Revision = step;
            await db.SaveChangesAsync();
        }
        else
            return await UpdateAsync(db, tx, orders, step);
        return await CommitAsync(db, tx);
    }

    private async Task<long> UpdateAsync(TemporalShopDb db, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction tx, List<ShopOrder> orders, int step)
    {
        var o = orders[_random.Next(orders.Count)];
        switch (_random.Next(5))
        {
            case 0: o.Status = (OrderStatus)_random.Next(4); break;
            case 1: o.Total = _random.Next(1, 50000) / 100m; break;
            case 2: o.Notes = $$"""{"edited": {{step}}}"""; break;
            case 3: o.Ship.City = "Moved" + step; break;
            default:
                if (o.Lines.Count > 0)
                {
                    var line = o.Lines[_random.Next(o.Lines.Count)];
                    line.Qty += 1; line.Revision = step;
                }
                break;
        }
        o.Revision = step;
        await db.SaveChangesAsync();
        return await CommitAsync(db, tx);
    }

    private static async Task<long> CommitAsync(TemporalShopDb db, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction tx)
    {
        var xid = await db.Database.SqlQueryRaw<long>("SELECT coalesce(pg_current_xact_id_if_assigned()::text::bigint, 0) AS \"Value\"").SingleAsync();
        await tx.CommitAsync();
        return xid;
    }
}
