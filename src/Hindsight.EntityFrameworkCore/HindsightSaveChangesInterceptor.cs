using System.Runtime.CompilerServices;
using Hindsight.Context;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Hindsight.EntityFrameworkCore;

/// <summary>
/// Makes SaveChanges transactional while a context scope is open, so the separate emit command
/// (see <see cref="HindsightCommandInterceptor"/>) commits or rolls back together with the changes.
/// </summary>
/// <remarks>
/// EF Core runs a SaveChanges that needs a single command without a transaction; the emit would then
/// commit on its own and describe nothing. For that one call the context's AutoTransactionBehavior
/// becomes Always, and is restored afterwards. Within a caller's transaction (EF or ambient) nothing changes.
/// </remarks>
internal sealed class HindsightSaveChangesInterceptor : SaveChangesInterceptor
{
    public static readonly HindsightSaveChangesInterceptor Instance = new();

    // The setting to restore, per context instance for the duration of one SaveChanges.
    private static readonly ConditionalWeakTable<DbContext, StrongBox<AutoTransactionBehavior>> Saved = new();

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        EnsureTransaction(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(
        DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        EnsureTransaction(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        Restore(eventData.Context);
        return result;
    }

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Restore(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData) => Restore(eventData.Context);

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Restore(eventData.Context);
        return Task.CompletedTask;
    }

    public override void SaveChangesCanceled(DbContextEventData eventData) => Restore(eventData.Context);

    public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        Restore(eventData.Context);
        return Task.CompletedTask;
    }

    private static void EnsureTransaction(DbContext? context)
    {
        if (context is null || HindsightContext.CurrentJson is null) return;
        var database = context.Database;
        if (database.CurrentTransaction is not null || System.Transactions.Transaction.Current is not null) return;
        if (database.AutoTransactionBehavior == AutoTransactionBehavior.Always) return;
        Saved.AddOrUpdate(context, new StrongBox<AutoTransactionBehavior>(database.AutoTransactionBehavior));
        database.AutoTransactionBehavior = AutoTransactionBehavior.Always;
    }

    private static void Restore(DbContext? context)
    {
        if (context is null || !Saved.TryGetValue(context, out var box)) return;
        Saved.Remove(context);
        context.Database.AutoTransactionBehavior = box.Value;
    }
}
