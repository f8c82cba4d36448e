using Microsoft.EntityFrameworkCore;

namespace Hindsight.EntityFrameworkCore;

/// <summary>EF Core registration of Hindsight.</summary>
public static class HindsightDbContextOptionsExtensions
{
    /// <summary>
    /// Sends the current <see cref="Hindsight.Context.HindsightContext"/> with every write this context makes
    /// (SaveChanges, ExecuteUpdate, ExecuteDelete, ExecuteSql/ExecuteSqlRaw), in the write's own transaction,
    /// so the capture worker attributes the changed rows to it. Reads are untouched; with no scope open nothing is sent.
    /// </summary>
    /// <remarks>
    /// <para>ExecuteUpdate/ExecuteDelete/ExecuteSql: the emit statement is prepended to the command (no extra round trip).</para>
    /// <para>SaveChanges: one extra command per batch on the same connection and transaction; without a caller's
    /// transaction, SaveChanges is made transactional for that call (Npgsql sends BEGIN with the emit, and EF commits).</para>
    /// <para>The interceptors are stateless singletons, so DbContext pooling works: each write reads the scope current
    /// where it runs. Call once per options builder (twice would send the context twice).</para>
    /// <para>Throws <see cref="Hindsight.Context.HindsightContextTooLargeException"/> before anything is sent when the
    /// context exceeds <see cref="Hindsight.Context.HindsightContext.SizeLimit"/>; EF's own transaction is rolled back.</para>
    /// </remarks>
    public static DbContextOptionsBuilder UseHindsight(this DbContextOptionsBuilder optionsBuilder)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        return optionsBuilder.AddInterceptors(HindsightCommandInterceptor.Instance, HindsightSaveChangesInterceptor.Instance);
    }

    /// <inheritdoc cref="UseHindsight(DbContextOptionsBuilder)"/>
    public static DbContextOptionsBuilder<TContext> UseHindsight<TContext>(this DbContextOptionsBuilder<TContext> optionsBuilder)
        where TContext : DbContext
    {
        UseHindsight((DbContextOptionsBuilder)optionsBuilder);
        return optionsBuilder;
    }
}
