using Hindsight.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Hindsight.Tests.Context;

/// <summary>A row the context tests write.</summary>
public sealed class Item
{
    /// <summary>Key (serial).</summary>
    public int Id { get; set; }
    /// <summary>Name, unique per test.</summary>
    public string Name { get; set; } = "";
    /// <summary>Who wrote it, as the application saw it (compared with the stored context).</summary>
    public string? Owner { get; set; }
    /// <summary>Request that wrote it, as the application saw it.</summary>
    public string? RequestId { get; set; }
    /// <summary>A number to update.</summary>
    public int Qty { get; set; }

    /// <summary>Maps <see cref="Item"/> onto table <c>items</c> (<see cref="ShopDb.Sql"/>); returns the entity's builder.</summary>
    public static Microsoft.EntityFrameworkCore.Metadata.Builders.EntityTypeBuilder<Item> Map(ModelBuilder b)
    {
        var item = b.Entity<Item>().ToTable("items");
        item.Property(i => i.Id).HasColumnName("id");
        item.Property(i => i.Name).HasColumnName("name");
        item.Property(i => i.Owner).HasColumnName("owner");
        item.Property(i => i.RequestId).HasColumnName("request_id");
        item.Property(i => i.Qty).HasColumnName("qty");
        return item;
    }
}

/// <summary>The EF Core model of the context tests' schema (<see cref="Sql"/>).</summary>
public sealed class ShopDb(DbContextOptions<ShopDb> options) : DbContext(options)
{
    /// <summary>Schema of the tracked database.</summary>
    public const string Sql = "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, owner text, request_id text, qty int NOT NULL DEFAULT 0);";

    /// <summary>The items.</summary>
    public DbSet<Item> Items => Set<Item>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder b)
    {
        Item.Map(b);
    }

    /// <summary>Options for a context on <paramref name="connectionString"/> with Hindsight.</summary>
    public static DbContextOptions<ShopDb> Options(string connectionString) =>
        new DbContextOptionsBuilder<ShopDb>().UseNpgsql(connectionString).UseHindsight().Options;
}
