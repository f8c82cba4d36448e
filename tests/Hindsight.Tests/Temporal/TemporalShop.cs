using System.Data.Common;
using Hindsight.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Hindsight.Tests.Temporal;

/// <summary>An order's state, stored as text by a value converter.</summary>
public enum OrderStatus
{
    /// <summary>Placed.</summary>
    New,
    /// <summary>Paid.</summary>
    Paid,
    /// <summary>Shipped.</summary>
    Shipped,
    /// <summary>Cancelled.</summary>
    Cancelled,
}

/// <summary>Where an order goes: an owned type in the order's own table.</summary>
public sealed class ShipTo
{
    /// <summary>Street (column ship_street).</summary>
    public string? Street { get; set; }
    /// <summary>City (column ship_city).</summary>
    public string? City { get; set; }
}

/// <summary>An order of the temporal tests (table <c>orders</c>, key given by the test so a deleted key can come back).</summary>
public sealed class ShopOrder
{
    /// <summary>Key.</summary>
    public int Id { get; set; }
    /// <summary>Customer.</summary>
    public string Customer { get; set; } = "";
    /// <summary>Status, as text.</summary>
    public OrderStatus Status { get; set; }
    /// <summary>Total, numeric(10,2).</summary>
    public decimal Total { get; set; }
    /// <summary>Notes, jsonb.</summary>
    public string? Notes { get; set; }
    /// <summary>Shipping address (owned).</summary>
    public ShipTo Ship { get; set; } = new();
    /// <summary>Bumped by every update, so no two versions of a row are equal.</summary>
    public int Revision { get; set; }
    /// <summary>The order's lines.</summary>
    public List<OrderLine> Lines { get; set; } = [];
}

/// <summary>A line of an order (table <c>order_lines</c>, composite key, cascaded from the order).</summary>
public sealed class OrderLine
{
    /// <summary>The order.</summary>
    public int OrderId { get; set; }
    /// <summary>Line number within the order.</summary>
    public int LineNo { get; set; }
    /// <summary>Product.</summary>
    public string Sku { get; set; } = "";
    /// <summary>Quantity.</summary>
    public int Qty { get; set; }
    /// <summary>Bumped by every update.</summary>
    public int Revision { get; set; }
}

/// <summary>The temporal tests' context: snake_case columns, a converter, jsonb, an owned type, a composite key.</summary>
public sealed class TemporalShopDb(DbContextOptions<TemporalShopDb> options) : DbContext(options)
{
    /// <summary>The tracked schema.</summary>
    public const string Sql =
        """
        CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, status text NOT NULL, total numeric(10,2) NOT NULL,
                             notes jsonb, ship_street text, ship_city text, revision int NOT NULL);
        CREATE TABLE order_lines (order_id int NOT NULL REFERENCES orders (id) ON DELETE CASCADE, line_no int NOT NULL,
                                  sku text NOT NULL, qty int NOT NULL, revision int NOT NULL, PRIMARY KEY (order_id, line_no));
        """;

    /// <summary>Orders.</summary>
    public DbSet<ShopOrder> Orders => Set<ShopOrder>();

    /// <summary>Lines.</summary>
    public DbSet<OrderLine> Lines => Set<OrderLine>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder b)
    {
        var o = b.Entity<ShopOrder>().ToTable("orders");
        o.Property(x => x.Id).HasColumnName("id").ValueGeneratedNever();
        o.Property(x => x.Customer).HasColumnName("customer");
        o.Property(x => x.Status).HasColumnName("status").HasConversion<string>();
        o.Property(x => x.Total).HasColumnName("total").HasColumnType("numeric(10,2)");
        o.Property(x => x.Notes).HasColumnName("notes").HasColumnType("jsonb");
        o.Property(x => x.Revision).HasColumnName("revision");
        o.OwnsOne(x => x.Ship, s =>
        {
            s.Property(a => a.Street).HasColumnName("ship_street");
            s.Property(a => a.City).HasColumnName("ship_city");
        });
        o.Navigation(x => x.Ship).IsRequired();
        o.HasMany(x => x.Lines).WithOne().HasForeignKey(l => l.OrderId).OnDelete(DeleteBehavior.Cascade);
        var l = b.Entity<OrderLine>().ToTable("order_lines");
        l.HasKey(x => new { x.OrderId, x.LineNo });
        l.Property(x => x.OrderId).HasColumnName("order_id");
        l.Property(x => x.LineNo).HasColumnName("line_no");
        l.Property(x => x.Sku).HasColumnName("sku");
        l.Property(x => x.Qty).HasColumnName("qty");
        l.Property(x => x.Revision).HasColumnName("revision");
    }

    /// <summary>Options with Hindsight's context and temporal queries, recording each query command in <paramref name="commands"/>.</summary>
    public static DbContextOptions<TemporalShopDb> Options(string connectionString, CommandLog? commands = null,
        Action<HindsightTemporalOptions>? temporal = null)
    {
        var b = new DbContextOptionsBuilder<TemporalShopDb>().UseNpgsql(connectionString).UseHindsight().UseHindsightTemporal(temporal);
        if (commands is not null) b.AddInterceptors(commands);
        return b.Options;
    }
}

/// <summary>The last query command EF Core ran: its text and parameters, to run again in PostgreSQL.</summary>
public sealed class CommandLog : DbCommandInterceptor
{
    /// <summary>The last reader command's text.</summary>
    public string? Text { get; private set; }

    /// <summary>Its parameters (copies).</summary>
    public List<NpgsqlParameter> Parameters { get; } = [];

    /// <inheritdoc />
    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Text = command.CommandText;
        Parameters.Clear();
        foreach (NpgsqlParameter p in command.Parameters) Parameters.Add(p.Clone());
        return ValueTask.FromResult(result);
    }
}
