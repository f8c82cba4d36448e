using System.Data.Common;
using Hindsight.Context;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Hindsight.EntityFrameworkCore;

/// <summary>
/// Sends the current <see cref="HindsightContext"/> with every write EF Core makes, in the same transaction.
/// </summary>
/// <remarks>
/// <para>ExecuteUpdate, ExecuteDelete and ExecuteSql/ExecuteSqlRaw run through ExecuteNonQuery: the emit statement
/// is prepended to the command text (one round trip; a multi-statement command is one implicit transaction when
/// there is no explicit one). PostgreSQL reports no rows affected for a SELECT, so the count EF returns is unchanged.</para>
/// <para>SaveChanges commands are built by <see cref="HindsightModificationCommandBatch"/>, which puts the emit in the
/// batch itself and reads the results with the right offset. Here they are only checked: a SaveChanges command
/// without the context while a scope is open means the batch factory was replaced after UseHindsight(), and an
/// audit trail that silently loses who wrote the rows is worse than a failed write.</para>
/// <para>Reads (queries, FromSql, sequences), migrations and scalar commands are never touched; with no scope open
/// nothing is sent.</para>
/// </remarks>
internal sealed class HindsightCommandInterceptor : DbCommandInterceptor
{
    public static readonly HindsightCommandInterceptor Instance = new();

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result) =>
        NonQuery(command, eventData, result);

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(NonQuery(command, eventData, result));

    private static InterceptionResult<int> NonQuery(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        if (result.HasResult || !WriteSources.IsWrite(eventData.CommandSource) || HindsightContext.CurrentJsonForSending() is not { } json)
            return result;
        EmitStatement.Prepend(command, json);
        return result;
    }

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Reader(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Reader(command, eventData);
        return ValueTask.FromResult(result);
    }

    private static void Reader(DbCommand command, CommandEventData eventData)
    {
        if (eventData.CommandSource == CommandSource.SaveChanges)
        {
            // The batch already decided (and size-checked) at Complete; only make sure it was ours.
            if (HindsightContext.CurrentJson is not null && !HindsightModificationCommandBatch.CarriesContext(command.Parameters))
                throw new InvalidOperationException(
                    "A SaveChanges command does not carry the Hindsight context: IModificationCommandBatchFactory was replaced after UseHindsight(). " +
                    "Hindsight needs its own batch factory (see docs/context.md).");
            return;
        }
        if (!WriteSources.IsWrite(eventData.CommandSource) || HindsightContext.CurrentJsonForSending() is not { } json) return;
        EmitStatement.Prepend(command, json);
    }

    // A write run as a reader (not something EF does today for ExecuteSql/ExecuteUpdate) had the emit
    // prepended: step over its one-row result so the caller sees its own first result set.
    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        if (EmitStatement.IsPrepended(command)) result.NextResult();
        return result;
    }

    public override async ValueTask<DbDataReader> ReaderExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        if (EmitStatement.IsPrepended(command)) await result.NextResultAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }
}
