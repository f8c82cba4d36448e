using Hindsight.EntityFrameworkCore.Temporal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Query;
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

    /// <summary>
    /// Lets this context read its entities' history from the Hindsight trail with EF Core's temporal operators
    /// (<see cref="HindsightTemporalExtensions"/>): <c>db.Orders.TemporalAsOf(t)</c>, <c>TemporalAll()</c>, … No
    /// column, table or migration is added to the entities: the trail is read where the query runs, in PostgreSQL.
    /// </summary>
    /// <remarks>
    /// <para>The store's tables must be in the database this context connects to: the store is the tracked database
    /// (<c>--store</c> the same as <c>--source</c>), or its tables are imported with postgres_fdw into a schema named by
    /// <see cref="HindsightTemporalOptions.StoreSchema"/>. Otherwise a temporal query fails with an error that says so.</para>
    /// <para>Replaces the Npgsql provider's query translation and SQL generation services with subclasses that add the
    /// temporal tables and leave everything else as Npgsql does it; do not replace those services again.</para>
    /// </remarks>
    /// <param name="optionsBuilder">The context's options, after UseNpgsql.</param>
    /// <param name="configure">Sets the source, the store's schema, and whether to demand complete history.</param>
    public static DbContextOptionsBuilder UseHindsightTemporal(this DbContextOptionsBuilder optionsBuilder,
        Action<HindsightTemporalOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        var options = new HindsightTemporalOptions();
        configure?.Invoke(options);
        if (string.IsNullOrWhiteSpace(options.StoreSchema))
            throw new ArgumentException("StoreSchema names the schema of the store's tables; it cannot be empty.", nameof(configure));
        if (options.Source is { } source && string.IsNullOrWhiteSpace(source))
            throw new ArgumentException("Source names a source (--source-name); give null for this database's sources.", nameof(configure));
        options = options.Copy();
        ((IDbContextOptionsBuilderInfrastructure)optionsBuilder).AddOrUpdateExtension(new HindsightTemporalOptionsExtension(options));
        optionsBuilder.ReplaceService<IQueryableMethodTranslatingExpressionVisitorFactory, TemporalQueryableMethodTranslatingExpressionVisitorFactory>();
        optionsBuilder.ReplaceService<IRelationalSqlTranslatingExpressionVisitorFactory, TemporalSqlTranslatingExpressionVisitorFactory>();
        optionsBuilder.ReplaceService<IQuerySqlGeneratorFactory, TemporalQuerySqlGeneratorFactory>();
        optionsBuilder.ReplaceService<INavigationExpansionExtensibilityHelper, TemporalNavigationExpansionExtensibilityHelper>();
        return optionsBuilder.AddInterceptors(new TemporalCommandInterceptor(options));
    }

    /// <inheritdoc cref="UseHindsightTemporal(DbContextOptionsBuilder, Action{HindsightTemporalOptions})"/>
    public static DbContextOptionsBuilder<TContext> UseHindsightTemporal<TContext>(this DbContextOptionsBuilder<TContext> optionsBuilder,
        Action<HindsightTemporalOptions>? configure = null)
        where TContext : DbContext
    {
        UseHindsightTemporal((DbContextOptionsBuilder)optionsBuilder, configure);
        return optionsBuilder;
    }
}
