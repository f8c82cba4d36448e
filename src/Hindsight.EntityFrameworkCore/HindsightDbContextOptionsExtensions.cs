using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Update;

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
    /// <para>SaveChanges: the emit is the first statement of every batch command EF sends (no extra round trip, no
    /// transaction added). This replaces the provider's <see cref="IModificationCommandBatchFactory"/>; do not replace it
    /// again after calling UseHindsight (SaveChanges then fails while a scope is open rather than lose the context).</para>
    /// <para>The interceptor is a stateless singleton and the batch reads the scope when SaveChanges builds it, so DbContext
    /// pooling works: each write carries the scope current where it runs. Call once per options builder (twice would send
    /// the context twice for ExecuteUpdate/ExecuteDelete/ExecuteSql).</para>
    /// <para>Throws <see cref="Hindsight.Context.HindsightContextTooLargeException"/> before anything is sent when the
    /// context exceeds <see cref="Hindsight.Context.HindsightContext.SizeLimit"/>; EF's own transaction is rolled back.</para>
    /// </remarks>
    public static DbContextOptionsBuilder UseHindsight(this DbContextOptionsBuilder optionsBuilder)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        // ReplaceService is EF Core's supported way to swap a provider service; it takes part in the internal service
        // provider's cache key, and works whichever of UseNpgsql/UseHindsight is called first.
        optionsBuilder.ReplaceService<IModificationCommandBatchFactory, HindsightModificationCommandBatchFactory>();
        return optionsBuilder.AddInterceptors(HindsightCommandInterceptor.Instance);
    }

    /// <inheritdoc cref="UseHindsight(DbContextOptionsBuilder)"/>
    public static DbContextOptionsBuilder<TContext> UseHindsight<TContext>(this DbContextOptionsBuilder<TContext> optionsBuilder)
        where TContext : DbContext
    {
        UseHindsight((DbContextOptionsBuilder)optionsBuilder);
        return optionsBuilder;
    }
}
