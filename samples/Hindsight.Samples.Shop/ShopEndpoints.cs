using Hindsight.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Hindsight.Samples.Shop;

/// <summary>The shop's HTTP API. Every write goes through EF Core; none of it mentions Hindsight. One read does: the order as it was when it was paid.</summary>
public static class ShopEndpoints
{
    /// <summary>A new customer.</summary>
    public sealed record NewCustomer(string Name, string Email);
    /// <summary>A new order with its lines.</summary>
    public sealed record NewOrder(int CustomerId, string Channel, NewLine[] Items);
    /// <summary>A line of a new order.</summary>
    public sealed record NewLine(string Product, int Quantity, decimal Price);
    /// <summary>A change of quantity.</summary>
    public sealed record QuantityChange(int Quantity);
    /// <summary>A change of e-mail address.</summary>
    public sealed record EmailChange(string Email);

    /// <summary>Maps the endpoints.</summary>
    public static void MapShop(this IEndpointRouteBuilder app)
    {
        app.MapPost("/customers", async (NewCustomer c, ShopDb db) =>
        {
            var customer = new Customer { Name = c.Name, Email = c.Email };
            db.Customers.Add(customer);
            await db.SaveChangesAsync();
            return Results.Created($"/customers/{customer.Id}", new { customer.Id });
        });

        app.MapPatch("/customers/{id:int}", async (int id, EmailChange change, ShopDb db) =>
        {
            var customer = await db.Customers.FindAsync(id);
            if (customer is null) return Results.NotFound();
            customer.Email = change.Email;
            await db.SaveChangesAsync();
            return Results.NoContent();
        });

        // One SaveChanges: the order and its lines in one batch, one transaction.
        app.MapPost("/orders", async (NewOrder o, ShopDb db) =>
        {
            var order = new Order
            {
                CustomerId = o.CustomerId, Status = "new", Total = o.Items.Sum(i => i.Quantity * i.Price),
                Details = System.Text.Json.JsonSerializer.Serialize(new { channel = o.Channel, coupon = (string?)null }),
                Items = o.Items.Select((i, n) => new OrderItem { Line = n + 1, Product = i.Product, Quantity = i.Quantity, Price = i.Price }).ToList(),
            };
            db.Orders.Add(order);
            await db.SaveChangesAsync();
            return Results.Created($"/orders/{order.Id}", new { order.Id });
        });

        // Set-based writes: raw SQL for the jsonb merge, ExecuteUpdate for the customer's tier.
        app.MapPost("/orders/{id:int}/pay", async (int id, ShopDb db) =>
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            var paid = await db.Database.ExecuteSqlAsync(
                $"UPDATE orders SET status = 'paid', details = details || jsonb_build_object('paid_via', 'card') WHERE id = {id} AND status = 'new'");
            if (paid == 0) return Results.Conflict(new { error = "order not found or not new" });
            var customerId = await db.Orders.Where(o => o.Id == id).Select(o => o.CustomerId).SingleAsync();
            await db.Customers.Where(c => c.Id == customerId && c.Tier == "basic").ExecuteUpdateAsync(s => s.SetProperty(c => c.Tier, "gold"));
            await tx.CommitAsync();
            return Results.NoContent();
        });

        app.MapPatch("/orders/{id:int}/items/{line:int}", async (int id, int line, QuantityChange change, ShopDb db) =>
        {
            var order = await db.Orders.Include(o => o.Items).SingleOrDefaultAsync(o => o.Id == id);
            var item = order?.Items.SingleOrDefault(i => i.Line == line);
            if (order is null || item is null) return Results.NotFound();
            item.Quantity = change.Quantity;
            order.Total = order.Items.Sum(i => i.Quantity * i.Price);
            await db.SaveChangesAsync();
            return Results.NoContent();
        });

        app.MapDelete("/orders/{id:int}/items/{line:int}", async (int id, int line, ShopDb db) =>
        {
            var order = await db.Orders.Include(o => o.Items).SingleOrDefaultAsync(o => o.Id == id);
            var item = order?.Items.SingleOrDefault(i => i.Line == line);
            if (order is null || item is null) return Results.NotFound();
            order.Items.Remove(item);
            db.OrderItems.Remove(item);
            order.Total = order.Items.Sum(i => i.Quantity * i.Price);
            await db.SaveChangesAsync();
            return Results.NoContent();
        });

        // The order as it was when it was paid: its first version with status "paid" (TemporalAll), then the order and its
        // lines as of that version's start (TemporalAsOf with Include), read from the Hindsight trail by EF Core.
        app.MapGet("/orders/{id:int}/as-paid", async (int id, ShopDb db) =>
        {
            var paidVersions = db.Orders.TemporalAll().Where(o => o.Id == id && o.Status == "paid");
            if (!await paidVersions.AnyAsync()) return Results.NotFound(new { error = "the trail holds no paid version of this order" });
            var paidAt = await paidVersions.MinAsync(o => EF.Property<DateTime>(o, "PeriodStart"));
            var order = await db.Orders.TemporalAsOf(paidAt).Include(o => o.Items).SingleAsync(o => o.Id == id);
            return Results.Ok(new { paidAt, order });
        });

        app.MapGet("/orders/{id:int}", async (int id, ShopDb db) =>
            await db.Orders.AsNoTracking().Include(o => o.Items).SingleOrDefaultAsync(o => o.Id == id) is { } order
                ? Results.Ok(order) : Results.NotFound());
    }
}
