using System.Data.Common;
using Hindsight.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Hindsight.Tests.Context;

/// <summary>
/// The items table with <see cref="Item.Qty"/> as an optimistic-concurrency token (so updates and deletes check rows
/// affected) and a chosen MaxBatchSize: the SaveChanges batch tests' context.
/// </summary>
public sealed class BatchDb(DbContextOptions<BatchDb> options) : DbContext(options)
{
    /// <summary>The items.</summary>
    public DbSet<Item> Items => Set<Item>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder b)
    {
        Item.Map(b).Property(i => i.Qty).IsConcurrencyToken();
    }

    /// <summary>Options with Hindsight, at most <paramref name="maxBatchSize"/> modifications per command, and <paramref name="interceptors"/>.</summary>
    public static DbContextOptions<BatchDb> Options(string connectionString, int? maxBatchSize = null, params IInterceptor[] interceptors) =>
        new DbContextOptionsBuilder<BatchDb>()
            .UseNpgsql(connectionString, o => { if (maxBatchSize is { } n) o.MaxBatchSize(n); })
            .UseHindsight()
            .AddInterceptors(interceptors)
            .Options;
}

/// <summary>Counts the SaveChanges commands (round trips) and transactions a context runs, and keeps their SQL.</summary>
public sealed class RoundTrips : DbCommandInterceptor, IDbTransactionInterceptor
{
    /// <summary>SQL of each SaveChanges command, in order.</summary>
    public List<string> SaveChangesCommands { get; } = [];

    /// <summary>Transactions begun.</summary>
    public int Transactions { get; private set; }

    /// <inheritdoc />
    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        if (eventData.CommandSource == CommandSource.SaveChanges) SaveChangesCommands.Add(command.CommandText);
        return result;
    }

    /// <inheritdoc />
    public override ValueTask<DbDataReader> ReaderExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(ReaderExecuted(command, eventData, result));

    /// <inheritdoc />
    public DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        Transactions++;
        return result;
    }

    /// <inheritdoc />
    public ValueTask<DbTransaction> TransactionStartedAsync(
        DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(TransactionStarted(connection, eventData, result));
}
