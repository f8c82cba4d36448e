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
/// <para>SaveChanges runs through a reader, and the Npgsql provider checks each modification's rows affected by
/// statement position (<c>NpgsqlDataReader.Statements[i]</c>); a prepended statement would shift those positions and
/// hide concurrency conflicts. So for SaveChanges the emit is a separate command on the same connection and
/// transaction, and <see cref="HindsightSaveChangesInterceptor"/> makes sure there is a transaction.</para>
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
        if (!WriteSources.IsWrite(eventData.CommandSource) || HindsightContext.CurrentJsonForSending() is not { } json) return result;
        if (eventData.CommandSource == CommandSource.SaveChanges)
        {
            using var emit = EmitStatement.Separate(command, json);
            emit.ExecuteNonQuery();
        }
        else EmitStatement.Prepend(command, json);
        return result;
    }

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        if (!WriteSources.IsWrite(eventData.CommandSource) || HindsightContext.CurrentJsonForSending() is not { } json) return result;
        if (eventData.CommandSource == CommandSource.SaveChanges)
        {
            await using var emit = EmitStatement.Separate(command, json);
            await emit.ExecuteNonQueryAsync(cancellationToken);
        }
        else EmitStatement.Prepend(command, json);
        return result;
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
        if (EmitStatement.IsPrepended(command)) await result.NextResultAsync(cancellationToken);
        return result;
    }
}
