using Microsoft.EntityFrameworkCore;

namespace Hindsight.Samples.Shop;

/// <summary>A customer of the shop.</summary>
public sealed class Customer
{
    public int Id { get; set; }
    public required string Name { get; set; }
    public required string Email { get; set; }
    public string Tier { get; set; } = "basic";
}

/// <summary>An order; <see cref="Details"/> is a jsonb document (channel, coupon, payment).</summary>
public sealed class Order
{
    public int Id { get; set; }
    public int CustomerId { get; set; }
    public required string Status { get; set; }
    public decimal Total { get; set; }
    public string Details { get; set; } = "{}";
    public List<OrderItem> Items { get; set; } = [];
}

/// <summary>A line of an order: its key is (order id, line), to show composite keys in the trail.</summary>
public sealed class OrderItem
{
    public int OrderId { get; set; }
    public int Line { get; set; }
    public required string Product { get; set; }
    public int Quantity { get; set; }
    public decimal Price { get; set; }
}

/// <summary>The shop's EF Core context (tables customers, orders, order_items).</summary>
public sealed class ShopDb(DbContextOptions<ShopDb> options) : DbContext(options)
{
    public DbSet<Customer> Customers => Set<Customer>();
    public DbSet<Order> Orders => Set<Order>();
    public DbSet<OrderItem> OrderItems => Set<OrderItem>();

    protected override void OnModelCreating(ModelBuilder b)
    {
        b.Entity<Customer>(e =>
        {
            e.ToTable("customers");
            e.Property(c => c.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(c => c.Name).HasColumnName("name");
            e.Property(c => c.Email).HasColumnName("email");
            e.Property(c => c.Tier).HasColumnName("tier");
        });
        b.Entity<Order>(e =>
        {
            e.ToTable("orders");
            e.Property(o => o.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(o => o.CustomerId).HasColumnName("customer_id");
            e.Property(o => o.Status).HasColumnName("status");
            e.Property(o => o.Total).HasColumnName("total").HasPrecision(10, 2);
            e.Property(o => o.Details).HasColumnName("details").HasColumnType("jsonb");
            e.HasOne<Customer>().WithMany().HasForeignKey(o => o.CustomerId);
            e.HasMany(o => o.Items).WithOne().HasForeignKey(i => i.OrderId);
        });
        b.Entity<OrderItem>(e =>
        {
            e.ToTable("order_items");
            e.HasKey(i => new { i.OrderId, i.Line });
            e.Property(i => i.OrderId).HasColumnName("order_id");
            e.Property(i => i.Line).HasColumnName("line");
            e.Property(i => i.Product).HasColumnName("product");
            e.Property(i => i.Quantity).HasColumnName("quantity");
            e.Property(i => i.Price).HasColumnName("price").HasPrecision(10, 2);
        });
    }
}
